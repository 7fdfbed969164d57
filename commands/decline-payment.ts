/** The subscriber refuses the payment on the phone; the order is cancelled (follow-up). */
import { paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';

export const declinePayment = async (
  deps: LedgerDeps,
  paymentId: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; status: 'declined' }> => {
  const result = await execute(deps, paymentAggregate, { type: 'DeclinePayment', paymentId, now: deps.now() }, { ...ctx, commandKey: `decline:${paymentId}` });
  await followUpInline(deps, result.appended);
  return { paymentId, status: 'declined' };
};

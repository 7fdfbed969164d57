/** Patent step 3: the subscriber confirms on the phone with the one-time code. */
import { WrongCode } from '../domain/errors.ts';
import { paymentStream } from '../domain/payment/payment.ts';
import { paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, load, type CommandContext } from './execute.ts';
import { followUpAll } from './follow-up.ts';
import { codeMatches } from './one-time-code.ts';

export const confirmPayment = async (
  deps: LedgerDeps,
  paymentId: string,
  code: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; status: 'submitted' }> => {
  const current = await load(deps.store, paymentAggregate, paymentStream(paymentId));
  const matches = current.status === 'awaiting_confirmation' && codeMatches(deps.codeSecret, paymentId, current.code.seq, code);
  const result = await execute(
    deps,
    paymentAggregate,
    { type: 'ConfirmPayment', paymentId, codeMatches: matches, now: deps.now() },
    { ...ctx, commandKey: `confirm:${ctx.causationId}` },
  );
  await followUpAll(deps, result.appended);
  for (const e of result.events) {
    if (e.type === 'PaymentCodeRejected') throw new WrongCode(paymentId, e.data.attemptsLeft);
  }
  return { paymentId, status: 'submitted' };
};

/** A new one-time code for the subscriber, within the resend limits; the SMS reactor sends it. */
import { paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { MAX_RESENDS } from '../domain/payment/payment.ts';

export const resendCode = async (
  deps: LedgerDeps,
  paymentId: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; codeExpiresAt: string; resendsLeft: number }> => {
  const result = await execute(
    deps,
    paymentAggregate,
    { type: 'ResendCode', paymentId, codeTtlSeconds: deps.codeTtlSeconds, now: deps.now() },
    { ...ctx, commandKey: `resend:${ctx.causationId}` },
  );
  if (result.state.status !== 'awaiting_confirmation') throw new Error('unreachable: a resent code leaves the payment awaiting confirmation');
  return { paymentId, codeExpiresAt: result.state.code.expiresAt, resendsLeft: MAX_RESENDS - result.state.code.resends };
};

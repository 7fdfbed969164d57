/** A new one-time code for the subscriber, within the resend limits; the outbound engine sends it. */
import { paymentStream, MAX_RESENDS } from '../domain/payment/payment.ts';
import { paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, load, type CommandContext } from './execute.ts';

export const resendCode = async (
  deps: LedgerDeps,
  paymentId: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; codeExpiresAt: string; resendsLeft: number }> => {
  // Whether the current code ever reached the gateway; if a concurrent resend moved the code on
  // meanwhile, the decider treats that newer code as delivered (the stricter rule).
  const before = await load(deps.store, paymentAggregate, paymentStream(paymentId));
  const seq = before.status === 'awaiting_confirmation' ? before.code.seq : 0;
  const delivered = seq === 0 || !deps.codeDelivered ? true : await deps.codeDelivered(paymentId, seq);
  const result = await execute(
    deps,
    paymentAggregate,
    { type: 'ResendCode', paymentId, codeTtlSeconds: deps.codeTtlSeconds, codeDelivered: { seq, delivered }, now: deps.now() },
    { ...ctx, commandKey: `resend:${paymentId}` },
  );
  if (result.state.status !== 'awaiting_confirmation') throw new Error('unreachable: a resent code leaves the payment awaiting confirmation');
  return { paymentId, codeExpiresAt: result.state.code.expiresAt, resendsLeft: MAX_RESENDS - result.state.code.resends };
};

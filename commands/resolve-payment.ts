/**
 * An admin resolves a payment flagged for an amount mismatch: `accept` (the amount the platform took
 * pays the order) or `refund` (it goes back). Recorded with who decided and why.
 */
import { OrderNotPayable } from '../domain/errors.ts';
import { orderStream } from '../domain/order/order.ts';
import { paymentStream, type ReviewDecision } from '../domain/payment/payment.ts';
import { orderAggregate, paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, load, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';

export const resolvePayment = async (
  deps: LedgerDeps,
  paymentId: string,
  decision: ReviewDecision,
  reason: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; decision: ReviewDecision; status: 'succeeded' | 'refunding' }> => {
  if (decision === 'accept') {
    // Accepting money for an order that can no longer be paid would only refund it again: say so instead.
    const payment = await load(deps.store, paymentAggregate, paymentStream(paymentId));
    const order = payment.status === 'none' ? undefined : await load(deps.store, orderAggregate, orderStream(payment.orderId));
    if (order && order.status !== 'awaiting_confirmation' && order.status !== 'payment_pending' && order.status !== 'none') {
      throw new OrderNotPayable(order.orderId, order.status);
    }
  }
  const result = await execute(
    deps,
    paymentAggregate,
    { type: 'ReviewPayment', paymentId, decision, reason, by: ctx.actor, now: deps.now() },
    { ...ctx, commandKey: `review:${paymentId}` },
  );
  await followUpInline(deps, result.appended);
  return { paymentId, decision, status: decision === 'accept' ? 'succeeded' : 'refunding' };
};

/** Patent step 3: the subscriber confirms on the phone with the one-time code. */
import { randomUUID } from 'node:crypto';
import { OrderNotPayable, WrongCode } from '../domain/errors.ts';
import { orderStream } from '../domain/order/order.ts';
import { paymentStream } from '../domain/payment/payment.ts';
import { orderAggregate, paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, load, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';

/**
 * The code is checked by the decider against the state it decides on (inside execute's retry loop).
 * The event ids derive from the payment and its revision (the attempt number), never from the request;
 * each request is one attempt with its own server-made attempt id, so concurrent guesses each cost a
 * strike, whatever request ids they carry, and of concurrent right codes exactly one confirms.
 */
export const confirmPayment = async (
  deps: LedgerDeps,
  paymentId: string,
  code: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ paymentId: string; status: 'submitted' }> => {
  const result = await execute(
    deps,
    paymentAggregate,
    { type: 'ConfirmPayment', paymentId, code: deps.codes.presented(paymentId, code), attemptId: randomUUID(), now: deps.now() },
    { ...ctx, commandKey: `confirm:${paymentId}` },
  );
  await followUpInline(deps, result.appended);
  for (const e of result.events) {
    if (e.type === 'PaymentCodeRejected') throw new WrongCode(paymentId, e.data.attemptsLeft);
  }
  // The order may have closed (cancelled, expired) between the confirmation and its follow-up, which
  // then voided the payment: nothing goes to the platform, so "submitted" would be untrue.
  const payment = await load(deps.store, paymentAggregate, paymentStream(paymentId));
  if (payment.status === 'voided') {
    const order = await load(deps.store, orderAggregate, orderStream(payment.orderId));
    throw new OrderNotPayable(payment.orderId, order.status);
  }
  return { paymentId, status: 'submitted' };
};

/**
 * An order's payment deadline (the order's `expiresAt`, its payment's `payBy`: the same instant),
 * one rule for both deciders.
 */
import { OrderNotPayable } from './errors.ts';

/** A deadline (or a code's expiry) is reached at its instant, not after it. */
export const isPast = (deadline: string, now: Date): boolean => now.getTime() >= Date.parse(deadline);

/**
 * Refuses to go on paying an order still awaiting confirmation once its deadline has come. Asked only
 * in that state: a payment already confirmed is paid by the payment's authority, whenever its result comes.
 */
export const refusePastDeadline = (orderId: string, deadline: string, now: Date): void => {
  if (isPast(deadline, now)) throw new OrderNotPayable(orderId, 'awaiting_confirmation', 'past its payment deadline');
};

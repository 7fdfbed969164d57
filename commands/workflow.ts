/**
 * The process between the two aggregates, declared: what each Order or Payment event asks of the
 * other aggregate. Events in, commands out, nothing else — no I/O, no clock (time comes in `env`).
 * Outbound work (trades, BOSS, SMS, refunds at the platform) is not here: it is the schedule's
 * business (outbound/schedule.ts).
 *
 * Every follow-up is safe to run more than once (the deciders answer [] for what is already so),
 * because it runs twice: inline right after the command, for a quick answer, and again by the
 * process reactor, which guarantees it across crashes. A follow-up may name one refusal it expects
 * (`otherwise`), with the follow-up to run instead; any other refusal is an anomaly to report.
 */
import { OrderNotPayable } from '../domain/errors.ts';
import { assertNever } from '../domain/never.ts';
import type { OrderCommand } from '../domain/order/decide.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentCommand } from '../domain/payment/decide.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import { paymentIdFor } from './ids.ts';

export type LedgerEvent = OrderEvent | PaymentEvent;

type ErrorClass = abstract new (...args: never[]) => Error;

export type FollowUp = ({ to: 'order'; cmd: OrderCommand } | { to: 'payment'; cmd: PaymentCommand }) & {
  /** The refusal this step expects, and what to do instead. */
  otherwise?: { when: ErrorClass; then: FollowUp };
};

export type WorkflowEnv = { now: Date; codeTtlSeconds: number };

const toOrder = (cmd: OrderCommand, otherwise?: FollowUp['otherwise']): FollowUp => ({ to: 'order', cmd, ...(otherwise && { otherwise }) });
const toPayment = (cmd: PaymentCommand): FollowUp => ({ to: 'payment', cmd });

export const react = (e: LedgerEvent, env: WorkflowEnv): FollowUp[] => {
  const { now } = env;
  switch (e.type) {
    case 'OrderPlaced': {
      const o = e.data;
      return [
        toPayment({
          type: 'RequestPayment',
          paymentId: o.paymentId,
          orderId: o.orderId,
          amount: o.amount,
          msisdn: o.msisdn,
          subject: o.product.name,
          payBy: o.expiresAt,
          codeTtlSeconds: env.codeTtlSeconds,
          // The code's life starts when the order was placed, also when a crash delayed this step.
          now: new Date(o.placedAt),
        }),
      ];
    }
    case 'OrderCancelled':
    case 'OrderExpired':
      // The payment will never be sent (a trade is created only after the order accepted it).
      return [
        toPayment({
          type: 'VoidPayment',
          paymentId: paymentIdFor(e.data.orderId),
          reason: e.type === 'OrderExpired' ? 'order_expired' : 'order_cancelled',
          now,
        }),
      ];
    case 'OrderProvisioningFailed':
      // BOSS refused for good: the subscriber gets the money back.
      return [toPayment({ type: 'RequestRefund', paymentId: paymentIdFor(e.data.orderId), reason: 'provisioning_failed', now })];
    case 'OrderPaymentPending':
    case 'OrderPaid':
    case 'OrderPaymentFailed':
    case 'OrderProvisioned':
    case 'OrderReprovisionRequested':
    case 'OrderRefunded':
      return [];
    case 'PaymentConfirmed': {
      const { orderId, paymentId } = e.data;
      // The order closed first (cancelled, expired): this payment must never reach the platform.
      return [
        toOrder(
          { type: 'MarkPaymentPending', orderId, paymentId, now },
          { when: OrderNotPayable, then: toPayment({ type: 'VoidPayment', paymentId, reason: 'order_not_payable', now }) },
        ),
      ];
    }
    case 'PaymentDeclined':
      return [toOrder({ type: 'CancelOrder', orderId: e.data.orderId, reason: 'declined', now })];
    case 'PaymentFailed':
      return [
        toOrder(
          e.data.reason === 'too_many_wrong_codes'
            ? { type: 'CancelOrder', orderId: e.data.orderId, reason: 'too_many_wrong_codes', now }
            : { type: 'MarkPaymentFailed', orderId: e.data.orderId, reason: e.data.reason, now },
        ),
      ];
    case 'PaymentSucceeded': {
      const { orderId, paymentId, tradeNo, amount } = e.data;
      // Our time of record pays the order; the platform's paidAt is kept for the record only.
      return [
        toOrder(
          { type: 'MarkPaid', orderId, paymentId, tradeNo, amount, paidAt: e.data.at, platformPaidAt: e.data.paidAt },
          { when: OrderNotPayable, then: toPayment({ type: 'RequestRefund', paymentId, reason: 'order_closed', now }) },
        ),
      ];
    }
    case 'PaymentFlagged':
      // Money we never asked for closes an order still open (its refund is already requested);
      // a mismatched amount leaves the order waiting for an admin's review.
      return e.data.reason === 'unexpected_success' ? [toOrder({ type: 'MarkPaymentFailed', orderId: e.data.orderId, reason: e.data.reason, now })] : [];
    case 'PaymentRefunded':
      return [toOrder({ type: 'MarkRefunded', orderId: e.data.orderId, refundNo: e.data.refundNo, amount: e.data.amount, now })];
    case 'PaymentRequested':
    case 'PaymentCodeRejected':
    case 'PaymentCodeResent':
    case 'PaymentSubmitted':
    case 'PaymentVoided':
    case 'PaymentRefundRequested':
    case 'PaymentReviewed':
      return [];
    default:
      return assertNever(e);
  }
};

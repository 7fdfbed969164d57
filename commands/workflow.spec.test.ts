/**
 * The workflow between Order and Payment: given this event, then these follow-ups (commands out), and
 * the one refusal each may expect. Pure: no store, no clock but the one given.
 */
import { describe, expect, it } from 'vitest';
import { OrderNotPayable } from '../domain/errors.ts';
import { cny } from '../domain/money.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import { orderPlaced, paymentRequested } from '../test/support/events.ts';
import { paymentIdFor } from './ids.ts';
import { react, type FollowUp, type LedgerEvent } from './workflow.ts';

const now = new Date('2026-11-25T08:10:00.000Z');
const env = { now, codeTtlSeconds: 300 };
const orderId = 'ord-1';
const paymentId = paymentIdFor(orderId);
const amount = cny(3800);

const when = (e: LedgerEvent): FollowUp[] => react(e, env);

const placed = orderPlaced({ orderId, paymentId, amount, placedAt: '2026-11-25T08:00:00.000Z', expiresAt: '2026-11-25T08:15:00.000Z' });

describe('order events', () => {
  it('OrderPlaced → request the payment, its code living from the moment the order was placed', () => {
    expect(when(placed)).toEqual([
      {
        to: 'payment',
        cmd: {
          type: 'RequestPayment',
          paymentId,
          orderId,
          amount,
          msisdn: '8613800138000',
          subject: 'Sports',
          payBy: '2026-11-25T08:15:00.000Z',
          codeTtlSeconds: 300,
          now: new Date('2026-11-25T08:00:00.000Z'),
        },
      },
    ]);
  });

  it.each([
    ['OrderCancelled', { type: 'OrderCancelled', data: { orderId, reason: 'customer', at: now.toISOString() } }, 'order_cancelled'],
    ['OrderExpired', { type: 'OrderExpired', data: { orderId, at: now.toISOString() } }, 'order_expired'],
  ] as const)('%s → void the payment (it will never reach the platform)', (_t, e, reason) => {
    expect(when(e)).toEqual([{ to: 'payment', cmd: { type: 'VoidPayment', paymentId, reason, now } }]);
  });

  it('OrderProvisioningFailed → the money goes back: RequestRefund(provisioning_failed)', () => {
    const e: OrderEvent = { type: 'OrderProvisioningFailed', data: { orderId, requestNo: 0, reason: 'boss: HTTP 422', at: now.toISOString() } };
    expect(when(e)).toEqual([{ to: 'payment', cmd: { type: 'RequestRefund', paymentId, reason: 'provisioning_failed', now } }]);
  });

  const at = now.toISOString();
  const quiet: OrderEvent[] = [
    { type: 'OrderPaymentPending', data: { orderId, paymentId, at } },
    { type: 'OrderPaid', data: { orderId, paymentId, tradeNo: 'T1', amount, paidAt: at } },
    { type: 'OrderPaymentFailed', data: { orderId, reason: 'platform_failed', at } },
    { type: 'OrderProvisioned', data: { orderId, requestNo: 0, bossRef: 'B1', validFrom: at, validUntil: at, at } },
    { type: 'OrderReprovisionRequested', data: { orderId, requestNo: 1, at } },
    { type: 'OrderRefunded', data: { orderId, refundNo: 'refund-ord-1', amount, at } },
  ];
  it.each(quiet.map((e) => [e.type, e] as const))('%s asks nothing of the payment (what leaves the system is the schedule’s business)', (_t, e) => {
    expect(when(e)).toEqual([]);
  });
});

describe('payment events', () => {
  it('PaymentConfirmed → the order accepts it; if the order closed first, the payment is voided instead', () => {
    const [f] = when({ type: 'PaymentConfirmed', data: { paymentId, orderId, at: now.toISOString() } });
    expect(f).toEqual({
      to: 'order',
      cmd: { type: 'MarkPaymentPending', orderId, paymentId, now },
      otherwise: { when: OrderNotPayable, then: { to: 'payment', cmd: { type: 'VoidPayment', paymentId, reason: 'order_not_payable', now } } },
    });
  });

  it('PaymentSucceeded → pays the order at OUR time of record, keeping the platform’s paidAt; a closed order gets the money back', () => {
    const e: PaymentEvent = {
      type: 'PaymentSucceeded',
      data: {
        paymentId,
        orderId,
        tradeNo: 'T1',
        notificationId: 'n',
        source: 'notification',
        amount,
        paidAt: '2099-01-01T00:00:00.000Z',
        at: '2026-11-25T08:09:00.000Z',
      },
    };
    expect(when(e)).toEqual([
      {
        to: 'order',
        cmd: { type: 'MarkPaid', orderId, paymentId, tradeNo: 'T1', amount, paidAt: '2026-11-25T08:09:00.000Z', platformPaidAt: '2099-01-01T00:00:00.000Z' },
        otherwise: { when: OrderNotPayable, then: { to: 'payment', cmd: { type: 'RequestRefund', paymentId, reason: 'order_closed', now } } },
      },
    ]);
  });

  it('PaymentDeclined → cancels the order (declined)', () => {
    expect(when({ type: 'PaymentDeclined', data: { paymentId, orderId, at: now.toISOString() } })).toEqual([
      { to: 'order', cmd: { type: 'CancelOrder', orderId, reason: 'declined', now } },
    ]);
  });

  it('PaymentFailed → five wrong codes cancel the order; any other failure fails its payment', () => {
    const failed = (reason: 'too_many_wrong_codes' | 'platform_failed' | 'trade_not_created'): PaymentEvent => ({
      type: 'PaymentFailed',
      data: { paymentId, orderId, reason, detail: 'd', at: now.toISOString() },
    });
    expect(when(failed('too_many_wrong_codes'))).toEqual([{ to: 'order', cmd: { type: 'CancelOrder', orderId, reason: 'too_many_wrong_codes', now } }]);
    expect(when(failed('platform_failed'))).toEqual([{ to: 'order', cmd: { type: 'MarkPaymentFailed', orderId, reason: 'platform_failed', now } }]);
    expect(when(failed('trade_not_created'))).toEqual([{ to: 'order', cmd: { type: 'MarkPaymentFailed', orderId, reason: 'trade_not_created', now } }]);
  });

  it('PaymentFlagged: unexpected money closes an open order; a mismatched amount leaves it waiting for review', () => {
    const flagged = (reason: 'unexpected_success' | 'amount_mismatch'): PaymentEvent => ({
      type: 'PaymentFlagged',
      data: { paymentId, orderId, reason, notificationId: 'n', tradeNo: 'T1', expected: amount, reported: cny(3700), at: now.toISOString() },
    });
    expect(when(flagged('unexpected_success'))).toEqual([{ to: 'order', cmd: { type: 'MarkPaymentFailed', orderId, reason: 'unexpected_success', now } }]);
    expect(when(flagged('amount_mismatch'))).toEqual([]);
  });

  it('PaymentRefunded → the order is refunded', () => {
    expect(when({ type: 'PaymentRefunded', data: { paymentId, orderId, refundNo: 'refund-ord-1', amount, at: now.toISOString() } })).toEqual([
      { to: 'order', cmd: { type: 'MarkRefunded', orderId, refundNo: 'refund-ord-1', amount, now } },
    ]);
  });

  const at = now.toISOString();
  const quiet: PaymentEvent[] = [
    paymentRequested({ paymentId, orderId, amount, requestedAt: at, payBy: at, codeExpiresAt: at }),
    { type: 'PaymentCodeRejected', data: { paymentId, wrongAttempts: 1, attemptsLeft: 4, at } },
    { type: 'PaymentCodeResent', data: { paymentId, codeSeq: 2, codeExpiresAt: at, at } },
    { type: 'PaymentSubmitted', data: { paymentId, tradeNo: 'T1', at } },
    { type: 'PaymentVoided', data: { paymentId, orderId, reason: 'order_expired', at } },
    { type: 'PaymentRefundRequested', data: { paymentId, orderId, refundNo: 'refund-ord-1', amount, reason: 'order_closed', at } },
    { type: 'PaymentReviewed', data: { paymentId, orderId, decision: 'refund', reason: 'r', by: { role: 'admin', client: 'a' }, at } },
  ];
  it.each(quiet.map((e) => [e.type, e] as const))('%s asks nothing of the order', (_t, e) => {
    expect(when(e)).toEqual([]);
  });
});

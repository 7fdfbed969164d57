/**
 * The schedule: given this event (and what the queue remembers), then these tasks — their ids (the
 * partners' idempotency keys), kinds, due times by our clock, and deadlines.
 */
import { describe, expect, it } from 'vitest';
import { cny } from '../domain/money.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import { orderPlaced, paymentRequested } from '../test/support/events.ts';
import { tasksFor, type Cause, type Memory } from './schedule.ts';

const at = '2026-11-25T08:05:00.000Z';
const cause: Cause = { id: 'evt-1', correlationId: 'corr-1', recordedAt: '2026-11-25T08:05:00.123Z' };
const orderId = 'ord-1';
const paymentId = 'pay-1';
const amount = cny(3800);
const memory: Memory = { group: 'card-1:sports-month', payment: { orderId, payBy: '2026-11-25T08:15:00.000Z' } };
const opts = { paymentQueryAfterSeconds: 120, callbacks: false };

const schedule = (e: OrderEvent | PaymentEvent, o = opts, m = memory) => tasksFor(e, cause, m, o);
const brief = (e: OrderEvent | PaymentEvent, o = opts, m = memory) =>
  schedule(e, o, m).map((t) => ({
    id: t.id,
    kind: t.kind,
    dueAt: t.dueAt,
    ...(t.template && { template: t.template }),
    ...(t.deadline && { deadline: t.deadline }),
  }));

const placed = orderPlaced({ orderId, paymentId, placedAt: at, expiresAt: '2026-11-25T08:20:00.000Z' });

describe('order events', () => {
  it('OrderPlaced → the expiry timer at the deadline, and the order message to the TV at once', () => {
    expect(brief(placed)).toEqual([
      { id: `expire:${orderId}`, kind: 'expire', dueAt: '2026-11-25T08:20:00.000Z' },
      { id: `sms:${orderId}:order-tv`, kind: 'sms', dueAt: at, template: 'order-tv' },
    ]);
  });

  it('every task carries its cause: the event, its correlation, and when it was recorded', () => {
    const [expire] = schedule(placed);
    expect(expire).toMatchObject({ orderId, paymentId, causationId: 'evt-1', correlationId: 'corr-1', createdAt: cause.recordedAt });
  });

  it('OrderPaymentPending → create the trade at once', () => {
    expect(brief({ type: 'OrderPaymentPending', data: { orderId, paymentId, at } })).toEqual([{ id: `trade:${paymentId}`, kind: 'trade', dueAt: at }]);
  });

  it('OrderPaid → BOSS request 0 in the card’s group, due at OUR time of record (never the platform’s paidAt), and the paid messages', () => {
    const paid: OrderEvent = { type: 'OrderPaid', data: { orderId, paymentId, tradeNo: 'T1', amount, paidAt: at, platformPaidAt: '2099-01-01T00:00:00.000Z' } };
    expect(brief(paid)).toEqual([
      { id: `boss:${orderId}:0`, kind: 'boss', dueAt: at },
      { id: `sms:${orderId}:paid-phone`, kind: 'sms', dueAt: at, template: 'paid-phone' },
      { id: `sms:${orderId}:paid-tv`, kind: 'sms', dueAt: at, template: 'paid-tv' },
    ]);
    expect(schedule(paid)[0]).toMatchObject({ group: 'card-1:sports-month', seq: 0 });
    expect(schedule(paid, opts, {})[0]).toMatchObject({ group: `order:${orderId}` });
    expect(brief(paid, { ...opts, callbacks: true }).at(-1)).toEqual({ id: `callback:${orderId}:paid`, kind: 'callback', dueAt: at });
  });

  it('OrderReprovisionRequested → a new BOSS request in the same group', () => {
    const [boss] = schedule({ type: 'OrderReprovisionRequested', data: { orderId, requestNo: 2, at } });
    expect(boss).toMatchObject({ id: `boss:${orderId}:2`, kind: 'boss', seq: 2, group: 'card-1:sports-month', dueAt: at });
  });

  it('OrderProvisioned → tell the TV (one message per request)', () => {
    const e: OrderEvent = { type: 'OrderProvisioned', data: { orderId, requestNo: 1, bossRef: 'B', validFrom: at, validUntil: at, at } };
    expect(brief(e)).toEqual([{ id: `sms:${orderId}:provisioned-tv:1`, kind: 'sms', dueAt: at, template: 'provisioned-tv' }]);
  });

  it('OrderProvisioningFailed → the refund task (logs written before refunds were requested on the payment)', () => {
    expect(brief({ type: 'OrderProvisioningFailed', data: { orderId, requestNo: 0, reason: 'r', at } })).toEqual([
      { id: `refund:${orderId}`, kind: 'refund', dueAt: at },
    ]);
  });

  it('OrderRefunded and OrderPaymentFailed → tell the phone', () => {
    expect(brief({ type: 'OrderRefunded', data: { orderId, refundNo: 'r', amount, at } })).toEqual([
      { id: `sms:${orderId}:refunded-phone`, kind: 'sms', dueAt: at, template: 'refunded-phone' },
    ]);
    expect(brief({ type: 'OrderPaymentFailed', data: { orderId, reason: 'platform_failed', at } })).toEqual([
      { id: `sms:${orderId}:failed-phone`, kind: 'sms', dueAt: at, template: 'failed-phone' },
    ]);
  });

  it('OrderCancelled and OrderExpired → only the open platform’s callback, when callbacks are on', () => {
    const cancelled: OrderEvent = { type: 'OrderCancelled', data: { orderId, reason: 'customer', at } };
    expect(brief(cancelled)).toEqual([]);
    expect(brief(cancelled, { ...opts, callbacks: true })).toEqual([{ id: `callback:${orderId}:cancelled`, kind: 'callback', dueAt: at }]);
  });
});

describe('payment events', () => {
  it('PaymentRequested → the code SMS at once, tried until the order can no longer be paid', () => {
    const e = paymentRequested({ paymentId, orderId, requestedAt: at, payBy: '2026-11-25T08:15:00.000Z', codeSeq: 1, codeExpiresAt: at });
    expect(brief(e)).toEqual([{ id: `sms:${paymentId}:code:1`, kind: 'sms', dueAt: at, template: 'code', deadline: '2026-11-25T08:15:00.000Z' }]);
  });

  it('PaymentCodeResent → the new code, its order and deadline from what the queue remembers', () => {
    const [code] = schedule({ type: 'PaymentCodeResent', data: { paymentId, codeSeq: 2, codeExpiresAt: at, at } });
    expect(code).toMatchObject({ id: `sms:${paymentId}:code:2`, orderId, seq: 2, template: 'code', deadline: '2026-11-25T08:15:00.000Z' });
  });

  it('PaymentSubmitted → ask the platform PAYMENT_QUERY_AFTER_SECONDS later if no result came', () => {
    expect(brief({ type: 'PaymentSubmitted', data: { paymentId, tradeNo: 'T1', at } })).toEqual([
      { id: `query:${paymentId}`, kind: 'query', dueAt: '2026-11-25T08:07:00.000Z' },
    ]);
  });

  it('PaymentRefundRequested → the refund task (the same id as a provisioning failure’s: one refund per order)', () => {
    const e: PaymentEvent = {
      type: 'PaymentRefundRequested',
      data: { paymentId, orderId, refundNo: `refund-${orderId}`, amount, reason: 'unexpected_success', at },
    };
    expect(brief(e)).toEqual([{ id: `refund:${orderId}`, kind: 'refund', dueAt: at }]);
  });

  it('the same event scheduled twice gives the same tasks (ids are the partners’ idempotency keys)', () => {
    expect(schedule(placed)).toEqual(schedule(placed));
  });
});

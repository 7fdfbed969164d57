/**
 * The events that open an order and its payment, for specs (test code only): plausible facts for a
 * month of sports, each replaceable. A spec passes the facts it checks, so a reader sees them there.
 */
import { cny } from '../../domain/money.ts';
import type { OrderPlaced } from '../../domain/order/order.ts';
import type { PaymentRequested } from '../../domain/payment/payment.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';

export const orderPlaced = (over: Partial<OrderPlaced['data']> = {}): OrderPlaced => ({
  type: 'OrderPlaced',
  data: {
    orderId: 'ord-1',
    paymentId: 'pay-1',
    subscriberId: 'sub-1',
    smartcardId: 'card-1',
    msisdn: '8613800138000',
    product: { productId: 'sports-month', name: 'Sports', channels: ['CCTV-5'], periodDays: 30 },
    amount: cny(3800),
    placedAt: '2026-11-25T08:00:00.000Z',
    expiresAt: '2026-11-25T08:15:00.000Z',
    client: 'open-platform',
    requestHash: 'h',
    ...over,
  },
});

export const paymentRequested = (over: Partial<PaymentRequested['data']> = {}): PaymentRequested => ({
  type: 'PaymentRequested',
  data: {
    paymentId: 'pay-1',
    orderId: 'ord-1',
    amount: cny(3800),
    msisdn: '8613800138000',
    subject: 'Sports',
    requestedAt: '2026-11-25T08:00:00.000Z',
    payBy: '2026-11-25T08:15:00.000Z',
    codeSeq: 1,
    codeExpiresAt: '2026-11-25T08:05:00.000Z',
    ...over,
  },
});

/** An event as a store hands it out: at global position `seq`, revision 0 of `streamId`, id `e-<seq>`. */
export const recordedEvent = (seq: number, e: { type: string; data: object }, streamId: string, recordedAt: Date = new Date(0)): RecordedEvent => ({
  id: `e-${seq}`,
  type: e.type,
  data: { ...e.data },
  metadata: { correlationId: 'c', causationId: 'x', actor: { role: 'test', client: 't' }, schemaVersion: 1 },
  streamId,
  revision: 0,
  position: { commit: BigInt(seq), prepare: BigInt(seq) },
  recordedAt,
});

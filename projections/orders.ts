/**
 * The customer-service view of orders, and the phone's view of payments.
 * Phone numbers are kept masked, plus a keyed digest for searching; both are made from the number
 * opened with the subscriber's key, and both are purged when the subscriber is erased ("erased" in
 * place of the number, no digest), also when the read model is rebuilt after the erasure.
 */
import { z } from 'zod';
import { readOrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent } from '../domain/payment/payment.ts';
import { readSubscriberEvent, type SubscriberErased } from '../domain/subscriber/subscriber.ts';
import { maskMsisdn } from '../domain/msisdn.ts';
import { ERASED, shown, type PersonalData } from '../domain/personal-data.ts';
import { assertNever } from '../domain/never.ts';
import { isSealed } from '../domain/personal-data.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import { MAX_RESENDS, MAX_WRONG_CODES, codeUsableUntil, type PaymentEvent } from '../domain/payment/payment.ts';
import { positionToString, type RecordedEvent } from '../stores/event-store.ts';
import { everyDoc, type Doc, type WriteOp } from '../stores/read-store.ts';
import type { Projection, ReadView } from './projection.ts';

export const ORDERS = 'orders';
export const PAYMENTS = 'payments';

/** A payment as this read model stores it (the fields the phone's view reads; the rest passes through). */
export const storedPayment = z
  .object({
    orderId: z.string(),
    status: z.string(),
    subject: z.string(),
    amount: z.object({ value: z.number().int(), currency: z.literal('CNY') }),
    msisdn: z.string(),
    payBy: z.string(),
    codeExpiresAt: z.string(),
    attemptsLeft: z.number().int(),
    resendsLeft: z.number().int(),
  })
  .loose();

export type OrdersProjectionDeps = {
  /** The keyed digest of a whole number that search looks for. */
  searchKey: (msisdn: string) => string;
  reveal: PersonalData['reveal'];
};

export const ordersProjection = (deps: OrdersProjectionDeps): Projection => ({
  name: 'orders',
  collections: [
    // Customer service lists orders of a status newest first: without (status, placedAt) that sorts every order ever in that status.
    { name: ORDERS, indexes: ['subscriberId', 'smartcardId', 'msisdnKey', 'status', 'placedAt'], compound: [['status', 'placedAt']] },
    { name: PAYMENTS, indexes: ['orderId'] },
  ],
  handle: async (event, view) => {
    const order = readOrderEvent(event);
    if (order) return onOrder(order, event, view, deps);
    const payment = readPaymentEvent(event);
    if (payment) return onPayment(payment, event, view, deps);
    const subscriber = readSubscriberEvent(event);
    if (subscriber) return onErased(subscriber, event, view);
    return [];
  },
});

type Patch = Record<string, unknown>;

/** Merges nested objects one level deep (steps, payment, boss), replaces the rest. */
const merge = (doc: Doc, patch: Patch): Doc => {
  const out: Doc = { ...doc };
  for (const [k, v] of Object.entries(patch)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? { ...prev, ...v } : v;
  }
  return out;
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const patchDoc = async (view: ReadView, collection: string, id: string, patch: Patch, event: RecordedEvent): Promise<WriteOp[]> => {
  const doc = await view.get(collection, id);
  if (!doc) return []; // placed before this projection's retention, or an unknown id: nothing to patch
  return [{ kind: 'upsert', collection, doc: merge(doc, { ...patch, updatedAt: event.recordedAt.toISOString(), version: positionToString(event.position) }) }];
};

const onOrder = async (e: OrderEvent, event: RecordedEvent, view: ReadView, deps: OrdersProjectionDeps): Promise<WriteOp[]> => {
  const patch = (p: Patch) => patchDoc(view, ORDERS, e.data.orderId, p, event);
  switch (e.type) {
    case 'OrderPlaced': {
      const d = e.data;
      const phone = await deps.reveal(d.msisdn, d.subscriberId);
      return [
        {
          kind: 'upsert',
          collection: ORDERS,
          doc: {
            id: d.orderId,
            orderId: d.orderId,
            paymentId: d.paymentId,
            status: 'awaiting_confirmation',
            subscriberId: d.subscriberId,
            smartcardId: d.smartcardId,
            msisdn: shown(phone, maskMsisdn),
            ...(phone.kind === 'msisdn' && { msisdnKey: deps.searchKey(phone.msisdn) }),
            product: d.product,
            amount: d.amount,
            placedAt: d.placedAt,
            expiresAt: d.expiresAt,
            steps: { placedAt: d.placedAt },
            payment: { paymentId: d.paymentId, status: 'awaiting_confirmation' },
            boss: {},
            updatedAt: event.recordedAt.toISOString(),
            version: positionToString(event.position),
          },
        },
      ];
    }
    case 'OrderPaymentPending':
      return patch({ status: 'payment_pending', steps: { paymentPendingAt: e.data.at } });
    case 'OrderPaid':
      return patch({
        status: 'paid',
        steps: { paidAt: e.data.paidAt },
        payment: { tradeNo: e.data.tradeNo, ...(e.data.platformPaidAt !== undefined && { platformPaidAt: e.data.platformPaidAt }) },
      });
    case 'OrderPaymentFailed':
      return patch({ status: 'payment_failed', failureReason: e.data.reason, steps: { paymentFailedAt: e.data.at } });
    case 'OrderCancelled':
      return patch({ status: 'cancelled', cancelReason: e.data.reason, steps: { cancelledAt: e.data.at } });
    case 'OrderExpired':
      return patch({ status: 'expired', steps: { expiredAt: e.data.at } });
    case 'OrderProvisioned':
      return patch({
        status: 'provisioned',
        steps: { provisionedAt: e.data.at },
        boss: { bossRef: e.data.bossRef, validFrom: e.data.validFrom, validUntil: e.data.validUntil, requestNo: e.data.requestNo },
      });
    case 'OrderProvisioningFailed':
      return patch({ status: 'provisioning_failed', failureReason: e.data.reason, steps: { provisioningFailedAt: e.data.at } });
    case 'OrderReprovisionRequested':
      return patch({ boss: { reprovisionRequestedAt: e.data.at, lastRequestNo: e.data.requestNo } });
    case 'OrderRefunded':
      return patch({ status: 'refunded', refundNo: e.data.refundNo, steps: { refundedAt: e.data.at } });
    default:
      return assertNever(e);
  }
};

const onPayment = async (e: PaymentEvent, event: RecordedEvent, view: ReadView, deps: OrdersProjectionDeps): Promise<WriteOp[]> => {
  const payment = await view.get(PAYMENTS, e.data.paymentId);
  const orderId = 'orderId' in e.data ? e.data.orderId : typeof payment?.orderId === 'string' ? payment.orderId : undefined;
  const both = async (paymentPatch: Patch, orderPatch: Patch = { payment: paymentPatch }): Promise<WriteOp[]> => [
    ...(await patchDoc(view, PAYMENTS, e.data.paymentId, paymentPatch, event)),
    ...(orderId ? await patchDoc(view, ORDERS, orderId, orderPatch, event) : []),
  ];
  switch (e.type) {
    case 'PaymentRequested': {
      const d = e.data;
      // A plain number (older events) belongs to the order's subscriber; the order was placed just before.
      const owner = isSealed(d.msisdn) ? d.msisdn.subscriberId : String((await view.get(ORDERS, d.orderId))?.subscriberId ?? '');
      const phone = await deps.reveal(d.msisdn, owner);
      return [
        {
          kind: 'upsert',
          collection: PAYMENTS,
          doc: {
            id: d.paymentId,
            paymentId: d.paymentId,
            orderId: d.orderId,
            status: 'awaiting_confirmation',
            subject: d.subject,
            amount: d.amount,
            msisdn: shown(phone, maskMsisdn),
            requestedAt: d.requestedAt,
            payBy: d.payBy,
            codeExpiresAt: codeUsableUntil(d.codeExpiresAt, d.payBy),
            attemptsLeft: MAX_WRONG_CODES,
            resendsLeft: MAX_RESENDS,
            updatedAt: event.recordedAt.toISOString(),
            version: positionToString(event.position),
          },
        },
      ];
    }
    case 'PaymentCodeRejected':
      return both({ attemptsLeft: e.data.attemptsLeft }, { payment: { wrongCodes: e.data.wrongAttempts } });
    case 'PaymentCodeResent': {
      const payBy = (await view.get(PAYMENTS, e.data.paymentId))?.payBy;
      const codeExpiresAt = codeUsableUntil(e.data.codeExpiresAt, typeof payBy === 'string' ? payBy : undefined);
      return both({ codeExpiresAt, resendsLeft: MAX_RESENDS - (e.data.codeSeq - 1) }, { payment: { codeResends: e.data.codeSeq - 1 } });
    }
    case 'PaymentConfirmed':
      return both({ status: 'confirmed', confirmedAt: e.data.at }, { payment: { status: 'confirmed' }, steps: { confirmedAt: e.data.at } });
    case 'PaymentDeclined':
      return both({ status: 'declined' });
    case 'PaymentSubmitted':
      return both(
        { status: 'submitted', tradeNo: e.data.tradeNo },
        { payment: { status: 'submitted', tradeNo: e.data.tradeNo }, steps: { submittedAt: e.data.at } },
      );
    case 'PaymentSucceeded':
      // paidAt: our time of record; platformPaidAt: the platform's claim, shown, never trusted.
      return both({ status: 'succeeded', tradeNo: e.data.tradeNo, paidAt: e.data.at, platformPaidAt: e.data.paidAt });
    case 'PaymentFailed':
      return both({ status: 'failed', failureReason: e.data.reason }, { payment: { status: 'failed', failureReason: e.data.reason, detail: e.data.detail } });
    case 'PaymentFlagged':
      return both({ status: 'flagged', flagReason: e.data.reason, reported: e.data.reported });
    case 'PaymentVoided':
      return both({ status: 'voided', voidReason: e.data.reason });
    case 'PaymentRefundRequested':
      return both({ status: 'refunding', refundNo: e.data.refundNo, refundReason: e.data.reason, refundRequestedAt: e.data.at });
    case 'PaymentReviewed':
      return both({ review: { decision: e.data.decision, reason: e.data.reason, by: e.data.by, at: e.data.at } });
    case 'PaymentRefunded':
      return both({ status: 'refunded', refundNo: e.data.refundNo });
    default:
      return assertNever(e);
  }
};

/** The subscriber's numbers are gone: every order and payment of theirs shows "erased", and search no longer finds them by phone. */
const onErased = async (e: SubscriberErased, event: RecordedEvent, view: ReadView): Promise<WriteOp[]> => {
  const stamp = { updatedAt: event.recordedAt.toISOString(), version: positionToString(event.position) };
  const ops: WriteOp[] = [];
  const orders = everyDoc(view, ORDERS, { where: { subscriberId: e.data.subscriberId }, orderBy: { field: 'placedAt', direction: 'asc' }, limit: 500 });
  for await (const { msisdnKey: _digest, ...order } of orders) {
    ops.push({ kind: 'upsert', collection: ORDERS, doc: { ...order, msisdn: ERASED, ...stamp } });
    const payment = typeof order.paymentId === 'string' ? await view.get(PAYMENTS, order.paymentId) : null;
    if (payment) ops.push({ kind: 'upsert', collection: PAYMENTS, doc: { ...payment, msisdn: ERASED, ...stamp } });
  }
  return ops;
};

/**
 * Each subscriber's order activity, for erasure and retention: when the subscriber last did anything
 * (any event of any of their orders, dated by our clock), which of their orders are still in flight,
 * and whether they are erased. The retention task finds who has been quiet too long with one range
 * query on one index (`retentionFrom`), never by reading history.
 *
 * - `subscribers`: { subscriberId, status: active | erased, lastActivityAt, retentionFrom (the last
 *   activity while the number is held; absent once erased), erasedAt?, orders, plainNumbers (some
 *   event holds the number in plain text: written before sealing, not migrated) }
 * - `subscriber_orders`: { orderId, subscriberId, status } — which subscriber each order belongs to.
 */
import { z } from 'zod';
import { readOrderEvent, type OrderEvent, type OrderStatus } from '../domain/order/order.ts';
import { isSealed } from '../domain/personal-data.ts';
import { readSubscriberEvent, type SubscriberFacts } from '../domain/subscriber/subscriber.ts';
import { everyDoc, type Doc, type ReadStore, type WriteOp } from '../stores/read-store.ts';
import type { Projection, ReadView } from './projection.ts';

export const SUBSCRIBERS = 'subscribers';
export const SUBSCRIBER_ORDERS = 'subscriber_orders';

/** A subscriber and an order link as this read model stores them (the fields it reads back). */
const storedSubscriber = z.object({ lastActivityAt: z.string().optional(), orders: z.number().int() }).loose();
const storedLink = z.object({ subscriberId: z.string(), status: z.string() }).loose();

/** Order states whose messages or money still need the number (the code SMS, the trade, the refund SMS). */
export const IN_FLIGHT: ReadonlySet<string> = new Set<OrderStatus>(['awaiting_confirmation', 'payment_pending', 'paid', 'provisioning_failed']);

export const subscribersProjection = (): Projection => ({
  name: 'subscribers',
  collections: [
    { name: SUBSCRIBERS, indexes: ['retentionFrom'] },
    { name: SUBSCRIBER_ORDERS, indexes: ['subscriberId'] },
  ],
  handle: async (event, view) => {
    const order = readOrderEvent(event);
    if (order) return onOrder(order, view);
    const erased = readSubscriberEvent(event);
    if (erased) {
      const s = await view.get(SUBSCRIBERS, erased.data.subscriberId);
      if (!s) return [];
      const { retentionFrom: _held, ...rest } = s;
      return [{ kind: 'upsert', collection: SUBSCRIBERS, doc: { ...rest, status: 'erased', erasedAt: erased.data.at } }];
    }
    return [];
  },
});

/** The status each order event leaves its order in (undefined: as it was). */
const STATUS_AFTER = {
  OrderPlaced: 'awaiting_confirmation',
  OrderPaymentPending: 'payment_pending',
  OrderPaid: 'paid',
  OrderPaymentFailed: 'payment_failed',
  OrderCancelled: 'cancelled',
  OrderExpired: 'expired',
  OrderProvisioned: 'provisioned',
  OrderProvisioningFailed: 'provisioning_failed',
  OrderReprovisionRequested: undefined,
  OrderRefunded: 'refunded',
} satisfies Record<OrderEvent['type'], OrderStatus | undefined>;

/** When an order event happened (our clock). */
const atOf = (e: OrderEvent): string => (e.type === 'OrderPlaced' ? e.data.placedAt : e.type === 'OrderPaid' ? e.data.paidAt : e.data.at);

const later = (a: string | undefined, b: string): string => (a !== undefined && a > b ? a : b);

const onOrder = async (e: OrderEvent, view: ReadView): Promise<WriteOp[]> => {
  const status = STATUS_AFTER[e.type];
  const at = atOf(e);
  const link = e.type === 'OrderPlaced' ? null : await view.get(SUBSCRIBER_ORDERS, e.data.orderId);
  const subscriberId = e.type === 'OrderPlaced' ? e.data.subscriberId : link ? storedLink.parse(link).subscriberId : undefined;
  if (subscriberId === undefined) return []; // an order this read model never saw placed
  const prev = await view.get(SUBSCRIBERS, subscriberId);
  const known = prev ? storedSubscriber.parse(prev) : undefined;
  const lastActivityAt = later(known?.lastActivityAt, at);
  const placed = e.type === 'OrderPlaced';
  const subscriber: Doc = {
    ...prev,
    id: subscriberId,
    subscriberId,
    // A new order after an erasure holds a number again.
    status: placed ? 'active' : (prev?.status ?? 'active'),
    lastActivityAt,
    orders: (known?.orders ?? 0) + (placed ? 1 : 0),
    plainNumbers: prev?.plainNumbers === true || (placed && !isSealed(e.data.msisdn)),
  };
  if (subscriber.status === 'active') subscriber.retentionFrom = lastActivityAt;
  return [
    { kind: 'upsert', collection: SUBSCRIBERS, doc: subscriber },
    ...(status === undefined
      ? []
      : [{ kind: 'upsert' as const, collection: SUBSCRIBER_ORDERS, doc: { id: e.data.orderId, orderId: e.data.orderId, subscriberId, status } }]),
  ];
};

export const subscriberFacts = async (reads: Pick<ReadStore, 'get' | 'find'>, subscriberId: string): Promise<SubscriberFacts> => {
  const s = await reads.get(SUBSCRIBERS, subscriberId);
  if (!s) return { known: false, inFlight: [], plainNumbers: false };
  const inFlight: string[] = [];
  for await (const o of everyDoc(reads, SUBSCRIBER_ORDERS, { where: { subscriberId }, orderBy: { field: 'subscriberId', direction: 'asc' }, limit: 500 })) {
    if (IN_FLIGHT.has(storedLink.parse(o).status)) inFlight.push(o.id);
  }
  return { known: true, inFlight, plainNumbers: s.plainNumbers === true };
};

/** A page of the subscribers who still hold a number and have done nothing since before `cutoff`, oldest first. */
export const quietSince = async (
  reads: Pick<ReadStore, 'find'>,
  cutoff: Date,
  limit: number,
  cursor?: string,
): Promise<{ subscriberIds: string[]; nextCursor: string | null }> => {
  const page = await reads.find(SUBSCRIBERS, {
    range: { field: 'retentionFrom', lt: cutoff.toISOString() },
    orderBy: { field: 'retentionFrom', direction: 'asc' },
    limit,
    ...(cursor && { cursor }),
  });
  return { subscriberIds: page.items.map((s) => s.id), nextCursor: page.nextCursor };
};

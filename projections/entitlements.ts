/**
 * Channels open on each smartcard. One document per (card, package): renewals add
 * grants that extend it from its current end; a refund removes the order's grant.
 */
import { readOrderEvent } from '../domain/order/order.ts';
import type { RecordedEvent } from '../stores/event-store.ts';
import type { Doc, WriteOp } from '../stores/read-store.ts';
import { z } from 'zod';
import type { Projection, ReadView } from './projection.ts';

export const ENTITLEMENTS = 'entitlements';
/** What this projection remembers of each order, to place its grants. */
const ENT_ORDERS = 'entitlement_orders';

export type Grant = { orderId: string; bossRef: string; validFrom: string; validUntil: string };

export const entitlementId = (smartcardId: string, productId: string): string => `${smartcardId}:${productId}`;

export const entitlementsProjection = (): Projection => ({
  name: 'entitlements',
  collections: [
    { name: ENTITLEMENTS, indexes: ['smartcardId', 'validUntil'] },
    { name: ENT_ORDERS, indexes: [] },
  ],
  handle: async (event, view) => {
    const e = readOrderEvent(event);
    if (!e) return [];
    switch (e.type) {
      case 'OrderPlaced':
        return [
          {
            kind: 'upsert',
            collection: ENT_ORDERS,
            doc: {
              id: e.data.orderId,
              smartcardId: e.data.smartcardId,
              subscriberId: e.data.subscriberId,
              productId: e.data.product.productId,
              name: e.data.product.name,
              channels: e.data.product.channels,
            },
          },
        ];
      case 'OrderProvisioned':
        return grant(view, event, e.data.orderId, {
          orderId: e.data.orderId,
          bossRef: e.data.bossRef,
          validFrom: e.data.validFrom,
          validUntil: e.data.validUntil,
        });
      case 'OrderRefunded':
        return revoke(view, e.data.orderId);
      default:
        return [];
    }
  },
});

type OrderInfo = { smartcardId: string; subscriberId: string; productId: string; name: string; channels: string[] };

/** What this projection remembers of an order, as stored. */
const storedOrderInfo = z.object({ smartcardId: z.string(), subscriberId: z.string(), productId: z.string(), name: z.string(), channels: z.array(z.string()) });
const storedGrants = z.object({
  grants: z.array(z.object({ orderId: z.string(), bossRef: z.string(), validFrom: z.string(), validUntil: z.string() })).default([]),
});

const orderInfo = async (view: ReadView, orderId: string): Promise<OrderInfo | null> => {
  const doc = await view.get(ENT_ORDERS, orderId);
  return doc ? storedOrderInfo.parse(doc) : null;
};

const grantsOf = (doc: Doc | null): Grant[] => (doc ? storedGrants.parse(doc).grants : []);

const withGrants = (info: OrderInfo, grants: Grant[], event: RecordedEvent | null, prev: Doc | null): WriteOp => {
  const id = entitlementId(info.smartcardId, info.productId);
  if (grants.length === 0) return { kind: 'delete', collection: ENTITLEMENTS, id };
  const sorted = [...grants].sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
  return {
    kind: 'upsert',
    collection: ENTITLEMENTS,
    doc: {
      id,
      smartcardId: info.smartcardId,
      subscriberId: info.subscriberId,
      productId: info.productId,
      name: info.name,
      channels: info.channels,
      validFrom: sorted[0]?.validFrom,
      // biome-ignore lint/complexity/useMathMinMax: ISO-8601 instants compare as strings
      validUntil: sorted.reduce((max, g) => (g.validUntil > max ? g.validUntil : max), ''),
      grants: sorted,
      updatedAt: event ? event.recordedAt.toISOString() : prev?.updatedAt,
    },
  };
};

const grant = async (view: ReadView, event: RecordedEvent, orderId: string, g: Grant): Promise<WriteOp[]> => {
  const info = await orderInfo(view, orderId);
  if (!info) return [];
  const prev = await view.get(ENTITLEMENTS, entitlementId(info.smartcardId, info.productId));
  // A reprovision of the same order replaces its grant.
  return [withGrants(info, [...grantsOf(prev).filter((x) => x.orderId !== orderId), g], event, prev)];
};

const revoke = async (view: ReadView, orderId: string): Promise<WriteOp[]> => {
  const info = await orderInfo(view, orderId);
  if (!info) return [];
  const prev = await view.get(ENTITLEMENTS, entitlementId(info.smartcardId, info.productId));
  if (!prev) return [];
  return [
    withGrants(
      info,
      grantsOf(prev).filter((x) => x.orderId !== orderId),
      null,
      prev,
    ),
  ];
};

/**
 * "What was this card entitled to on 3 November?", answered from the event log as of that instant,
 * not from the entitlement read model (which only knows now).
 *
 * The orders of a card are found through the orders read model (an index by smartcardId); what each
 * order had granted at the instant comes from its own stream, folding only the events whose time
 * (ours, the command clock: never a partner's) is at or before it. A grant is the validity of the
 * order's latest OrderProvisioned by then; a refund by then takes it away. A package is listed
 * when one of its grants covers the instant; like the live view, its validUntil is the end of the
 * last grant known then (renewals stack).
 */
import { readOrderEvent } from '../domain/order/order.ts';
import { assertNever } from '../domain/never.ts';
import { orderStream, type OrderEvent } from '../domain/order/order.ts';
import { ORDERS } from '../projections/orders.ts';
import type { EventStore } from '../stores/event-store.ts';
import { everyDoc, type ReadStore } from '../stores/read-store.ts';

export type Grant = { orderId: string; validFrom: string; validUntil: string };
export type EntitlementAt = { productId: string; name: string; channels: string[]; validFrom: string; validUntil: string; grants: Grant[] };

/** When an order event happened, by our clock. */
const timeOf = (e: OrderEvent): string => {
  switch (e.type) {
    case 'OrderPlaced':
      return e.data.placedAt;
    case 'OrderPaid':
      return e.data.paidAt;
    case 'OrderPaymentPending':
    case 'OrderPaymentFailed':
    case 'OrderCancelled':
    case 'OrderExpired':
    case 'OrderProvisioned':
    case 'OrderProvisioningFailed':
    case 'OrderReprovisionRequested':
    case 'OrderRefunded':
      return e.data.at;
    default:
      return assertNever(e);
  }
};

type Facts = { orderId: string; smartcardId: string; productId: string; name: string; channels: string[] };

/** One order's grant as of `at` (ISO, UTC), and what it is for. Pure. */
export const grantAt = (events: readonly OrderEvent[], at: string): { facts: Facts; grant: Grant | undefined } | undefined => {
  let facts: Facts | undefined;
  let grant: Grant | undefined;
  for (const e of events) {
    if (timeOf(e) > at) continue;
    if (e.type === 'OrderPlaced') {
      const p = e.data.product;
      facts = { orderId: e.data.orderId, smartcardId: e.data.smartcardId, productId: p.productId, name: p.name, channels: [...p.channels] };
    } else if (e.type === 'OrderProvisioned') grant = { orderId: e.data.orderId, validFrom: e.data.validFrom, validUntil: e.data.validUntil };
    else if (e.type === 'OrderRefunded') grant = undefined;
  }
  return facts && { facts, grant };
};

/** The card's packages at the instant, by package. Pure. */
export const entitlementsOf = (orders: readonly (readonly OrderEvent[])[], at: string): EntitlementAt[] => {
  const byProduct = new Map<string, { facts: Facts; grants: Grant[] }>();
  for (const events of orders) {
    const found = grantAt(events, at);
    if (!found?.grant) continue;
    const entry = byProduct.get(found.facts.productId) ?? { facts: found.facts, grants: [] };
    entry.grants.push(found.grant);
    byProduct.set(found.facts.productId, entry);
  }
  const out: EntitlementAt[] = [];
  for (const { facts, grants } of byProduct.values()) {
    const live = grants.filter((g) => g.validUntil > at).sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
    if (!live.some((g) => g.validFrom <= at)) continue;
    out.push({
      productId: facts.productId,
      name: facts.name,
      channels: facts.channels,
      validFrom: live[0]?.validFrom ?? at,
      // biome-ignore lint/complexity/useMathMinMax: ISO-8601 instants compare as strings
      validUntil: live.reduce((max, g) => (g.validUntil > max ? g.validUntil : max), ''),
      grants: live,
    });
  }
  return out.sort((a, b) => (a.validUntil < b.validUntil ? -1 : a.validUntil > b.validUntil ? 1 : 0));
};

const PAGE = 200;

/** Reads the card's orders from the log and answers as of `at`. */
export const entitlementsAt = async (deps: { store: EventStore; reads: ReadStore }, smartcardId: string, at: Date): Promise<EntitlementAt[]> => {
  const orderIds: string[] = [];
  for await (const o of everyDoc(deps.reads, ORDERS, { where: { smartcardId }, orderBy: { field: 'placedAt', direction: 'asc' }, limit: PAGE })) {
    orderIds.push(o.id);
  }
  const orders = await Promise.all(orderIds.map(async (id) => (await deps.store.readStream(orderStream(id))).flatMap((r) => readOrderEvent(r) ?? [])));
  // The index is a read model: keep only orders the log says are for this card.
  return entitlementsOf(
    orders.filter((events) => events.some((e) => e.type === 'OrderPlaced' && e.data.smartcardId === smartcardId)),
    at.toISOString(),
  );
};

/**
 * "Show me everything that happened to this order and why": one pass over the log collecting the
 * orders asked for (by order id, smartcard or phone number), every event of their order and payment
 * streams, and every event caused by one of those (the outbound tasks' attempts on `task-<id>`,
 * with the partners' answers as they were recorded), arranged as the causal tree.
 *
 * Phone numbers are masked in everything collected (the whole number is only ever matched on).
 */
import { maskMsisdn, normalizeMsisdn } from '../../domain/msisdn.ts';
import { shown, storedMsisdn, type Revealed, type StoredMsisdn } from '../../domain/personal-data.ts';
import { positionToString, readLog, type EventStore, type RecordedEvent } from '../../stores/event-store.ts';

export type Selector = { order: string } | { card: string } | { msisdn: string };

export type TrailEvent = {
  id: string;
  streamId: string;
  revision: number;
  type: string;
  position: string;
  recordedAt: string;
  correlationId: string;
  causationId: string;
  actor: string;
  data: Record<string, unknown>;
};

/** A node of the tree: an event with what it caused; a task's attempts are grouped under the event that created it. */
export type TrailNode = { event: TrailEvent; caused: TrailNode[]; tasks: { taskId: string; attempts: TrailEvent[] }[] };

export type OrderTrail = {
  orderId: string;
  paymentId: string;
  smartcardId: string;
  msisdn: string;
  /** Roots: events caused by no event of the trail (a request, a timer), grouped by that cause. */
  roots: { causationId: string; nodes: TrailNode[] }[];
  events: number;
};

export type Trail = { selector: Selector; orders: OrderTrail[] };

/** Opens a number as stored in an event (sealed with its subscriber's key, or plain in older events). */
export type Reveal = (value: StoredMsisdn, subscriberId: string) => Promise<Revealed>;

/** The event's data with its phone number (if any) opened and masked, or "erased". */
const masked = async (data: Record<string, unknown>, reveal: Reveal): Promise<Record<string, unknown>> => {
  const stored = storedMsisdn(data.msisdn);
  if (stored === undefined) return data;
  return { ...data, msisdn: shown(await reveal(stored, String(data.subscriberId)), maskMsisdn) };
};

const toTrail = (e: RecordedEvent, data: Record<string, unknown>): TrailEvent => ({
  id: e.id,
  streamId: e.streamId,
  revision: e.revision,
  type: e.type,
  position: positionToString(e.position),
  recordedAt: e.recordedAt.toISOString(),
  correlationId: e.metadata.correlationId,
  causationId: e.metadata.causationId,
  actor: `${e.metadata.actor.role}/${e.metadata.actor.client}`,
  data,
});

type Collected = { orderId: string; paymentId: string; smartcardId: string; msisdn: string; events: TrailEvent[] };

const matches = async (selector: Selector, d: Record<string, unknown>, msisdn: string | undefined, reveal: Reveal): Promise<boolean> => {
  if ('order' in selector) return d.orderId === selector.order;
  if ('card' in selector) return d.smartcardId === selector.card;
  const stored = storedMsisdn(d.msisdn);
  if (stored === undefined) return false;
  const opened = await reveal(stored, String(d.subscriberId));
  return opened.kind === 'msisdn' && opened.msisdn === msisdn;
};

const isTask = (streamId: string): boolean => streamId.startsWith('task-');

const pushTo = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/** The causal tree of one order's events. */
const treeOf = (events: readonly TrailEvent[]): OrderTrail['roots'] => {
  const nodes = new Map<string, TrailNode>();
  for (const e of events) if (!isTask(e.streamId)) nodes.set(e.id, { event: e, caused: [], tasks: [] });
  const roots = new Map<string, TrailNode[]>();
  for (const e of events) {
    const parent = nodes.get(e.causationId);
    if (isTask(e.streamId)) {
      // Every attempt of a task names the event that created the task as its cause.
      const taskId = e.streamId.slice('task-'.length);
      const owner = parent ?? { event: e, caused: [], tasks: [] };
      const task = owner.tasks.find((t) => t.taskId === taskId);
      if (task) task.attempts.push(e);
      else owner.tasks.push({ taskId, attempts: [e] });
      if (!parent) pushTo(roots, e.causationId, owner);
      continue;
    }
    const node = nodes.get(e.id);
    if (!node) continue;
    if (parent) parent.caused.push(node);
    else pushTo(roots, e.causationId, node);
  }
  return [...roots.entries()].map(([causationId, list]) => ({ causationId, nodes: list }));
};

export const collectTrail = async (store: EventStore, selector: Selector, reveal: Reveal, onProgress?: (events: number) => void): Promise<Trail> => {
  const msisdn = 'msisdn' in selector ? normalizeMsisdn(selector.msisdn) : undefined;
  const orders = new Map<string, Collected>();
  /** Stream → the order it belongs to. */
  const owners = new Map<string, Collected>();
  /** Event id → the order whose trail holds it, so what it causes joins that trail. */
  const held = new Map<string, Collected>();
  let n = 0;
  for await (const e of readLog(store)) {
    if (++n % 1000 === 0) onProgress?.(n);
    let owner = owners.get(e.streamId) ?? held.get(e.metadata.causationId);
    if (!owner && e.type === 'OrderPlaced' && e.streamId.startsWith('order-') && (await matches(selector, e.data, msisdn, reveal))) {
      const d = await masked(e.data, reveal);
      owner = { orderId: String(d.orderId), paymentId: String(d.paymentId), smartcardId: String(d.smartcardId), msisdn: String(d.msisdn), events: [] };
      orders.set(owner.orderId, owner);
      owners.set(`order-${owner.orderId}`, owner);
      owners.set(`payment-${owner.paymentId}`, owner);
    }
    if (!owner) continue;
    owner.events.push(toTrail(e, await masked(e.data, reveal)));
    held.set(e.id, owner);
  }
  return {
    selector: 'msisdn' in selector ? { msisdn: maskMsisdn(msisdn ?? selector.msisdn) } : selector,
    orders: [...orders.values()].map((o) => ({
      orderId: o.orderId,
      paymentId: o.paymentId,
      smartcardId: o.smartcardId,
      msisdn: o.msisdn,
      roots: treeOf(o.events),
      events: o.events.length,
    })),
  };
};

/**
 * What every action sees of its attempt, and the helpers they share. An action reads what it needs,
 * returns `done` at once when the work turned out moot (no call, nothing claimed), and otherwise
 * claims the attempt right before calling its partner, with the task id as the idempotency key.
 */
import { orderAggregate, paymentAggregate } from '../commands/aggregates.ts';
import type { CommandContext } from '../commands/execute.ts';
import { load } from '../commands/execute.ts';
import { e164 } from '../domain/msisdn.ts';
import { readOrderEvent, type Order, type OrderEvent } from '../domain/order/order.ts';
import type { Money } from '../domain/money.ts';
import { assertNever } from '../domain/never.ts';
import { isSealed, type StoredMsisdn } from '../domain/personal-data.ts';
import type { LedgerDeps } from '../commands/deps.ts';
import { orderStream } from '../domain/order/order.ts';
import { paymentStream, type Payment } from '../domain/payment/payment.ts';
import type { Actor, EventStore } from '../stores/event-store.ts';
import type { Outcome } from './decide.ts';
import type { Sent, TaskSpec, TaskState } from './task.ts';

export type Attempt = {
  spec: TaskSpec;
  state: Extract<TaskState, { status: 'pending' }>;
  /**
   * Claims this attempt in the task's stream (recording what it sends, so a retry sends the same) and
   * checks the worker's fence. Call it right before the partner; it throws when this worker may not call.
   * The claim holds long enough for `calls` whole calls (default 1), each to its timeout.
   */
  claim(o?: { sent?: Sent; calls?: number }): Promise<void>;
  /** Checks the fence again, before a second call within the same attempt: the claim must outlast the whole call. */
  fence(): void;
  now(): Date;
};

export type Action = (attempt: Attempt) => Promise<Outcome>;

export const TASK_ACTOR: Actor = { role: 'system', client: 'task-worker' };

/** The context of a command an attempt causes: the task's correlation, keyed by the task and the step. */
export const contextFor = (task: TaskSpec, step: string): CommandContext => ({
  correlationId: task.correlationId,
  causationId: task.causationId,
  actor: TASK_ACTOR,
  commandKey: `${step}:${task.id}`,
});

export const done = (detail: string): Outcome => ({ kind: 'done', detail });

export const loadOrder = (store: EventStore, orderId: string): Promise<Order> => load(store, orderAggregate, orderStream(orderId));

/** The order's events as they are now, and the one that created the task (its causationId), if it is one of them. */
export const orderStory = async (store: EventStore, orderId: string, causationId: string): Promise<{ events: OrderEvent[]; cause: OrderEvent | undefined }> => {
  const events: OrderEvent[] = [];
  let cause: OrderEvent | undefined;
  for (const r of await store.readStream(orderStream(orderId))) {
    const e = readOrderEvent(r);
    if (!e) continue;
    events.push(e);
    if (r.id === causationId) cause = e;
  }
  return { events, cause };
};

/**
 * The money a step of the order is about, as the partners and the subscriber are told it: what a
 * refund returned, what paid the order (paid, and what followed), or else the price. The money that
 * moved may differ from the price (an amount accepted on review).
 */
export const amountOfStep = (events: readonly OrderEvent[], cause: OrderEvent | undefined, price: Money): Money => {
  const paid = (): Money => events.find((e) => e.type === 'OrderPaid')?.data.amount ?? price;
  switch (cause?.type) {
    case 'OrderRefunded':
    case 'OrderPaid':
      return cause.data.amount;
    case 'OrderProvisioned':
    case 'OrderProvisioningFailed':
    case 'OrderReprovisionRequested':
      return paid();
    case 'OrderPlaced':
    case 'OrderPaymentPending':
    case 'OrderPaymentFailed':
    case 'OrderCancelled':
    case 'OrderExpired':
    case undefined:
      return price;
    default:
      return assertNever(cause);
  }
};
export const loadPayment = (store: EventStore, paymentId: string): Promise<Payment> => load(store, paymentAggregate, paymentStream(paymentId));

/**
 * The phone to call or text, E.164, opened with its subscriber's key; undefined once the number was
 * erased. A plain number (an event written before sealing) belongs to the order's subscriber.
 */
export const phoneOf = async (ledger: LedgerDeps, msisdn: StoredMsisdn, orderId: string): Promise<string | undefined> => {
  const owner = isSealed(msisdn) ? msisdn.subscriberId : await loadOrder(ledger.store, orderId).then((o) => (o.status === 'none' ? '' : o.subscriberId));
  const r = await ledger.personalData.reveal(msisdn, owner);
  return r.kind === 'erased' ? undefined : e164(r.msisdn);
};

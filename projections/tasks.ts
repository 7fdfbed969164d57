/**
 * Outbound work and timers, as a read model: what must be done, when, and how it
 * went. Domain events create tasks; the task worker (task-worker.ts) runs the due
 * ones and records each attempt on the task's own stream `task-<id>`:
 *
 *   TaskAttemptFailed  → still pending, due again at retryAt
 *   TaskCompleted      → done
 *   TaskAbandoned      → failed (a final refusal, or attempts exhausted)
 *
 * Task ids are derived from what they are for, so the same event creates the same
 * task, and the outbound call's idempotency key is the task id.
 *
 * Callbacks to the open platform (kind `callback`, only when the projection is told they are on):
 * one per order outcome event, id `callback:<orderId>:<status>` (`…:provisioned:<requestNo>` for a
 * reprovision), due at the event's own time.
 */
import { readOrderEvent, readPaymentEvent } from '../commands/aggregates.ts';
import { assertNever } from '../domain/never.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import type { OrderCallbackStatus } from '../integrations/ports.ts';
import type { RecordedEvent } from '../stores/event-store.ts';
import type { Doc, WriteOp } from '../stores/read-store.ts';
import { optStr } from './doc.ts';
import { entitlementId } from './entitlements.ts';
import type { Projection } from './runner.ts';

export const TASKS = 'tasks';

export const TASK_KINDS = ['expire', 'trade', 'query', 'boss', 'refund', 'sms', 'callback'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];
export type TaskStatus = 'pending' | 'done' | 'failed';
/** Which message an SMS task sends, and to whom. */
export const SMS_TEMPLATES = ['code', 'order-tv', 'paid-phone', 'paid-tv', 'provisioned-tv', 'refunded-phone', 'failed-phone'] as const;
export type SmsTemplate = (typeof SMS_TEMPLATES)[number];

export type Task = {
  id: string;
  kind: TaskKind;
  status: TaskStatus;
  orderId: string;
  paymentId: string;
  dueAt: string;
  createdAt: string;
  attempts: number;
  lastError?: string;
  /** boss: the BOSS request number (0 first, then reprovisions). sms: the code sequence for `code`. */
  seq: number;
  template?: SmsTemplate;
  /**
   * boss: the entitlement (card and package) the request is for. Requests of one group run
   * one at a time, oldest first, so a renewal starts where the one before it ends.
   */
  group?: string;
  /** boss: the validity dates the first attempt sent, sent again on retries. */
  sent?: Record<string, string>;
  /** The creating event's correlation, and the event itself, for the commands the task causes. */
  correlationId: string;
  causationId: string;
  finishedAt?: string;
};

export type TaskEvent =
  | {
      type: 'TaskAttemptFailed';
      data: {
        taskId: string;
        attempt: number;
        error: string;
        retryAt: string;
        /** What the attempt sent, so retries send the same (BOSS validity dates). */
        sent?: Record<string, string>;
      };
    }
  | { type: 'TaskCompleted'; data: { taskId: string; attempt: number; outcome: string } }
  | { type: 'TaskAbandoned'; data: { taskId: string; attempt: number; error: string } };

export const TASK_EVENT_TYPES: ReadonlySet<string> = new Set<TaskEvent['type']>(['TaskAttemptFailed', 'TaskCompleted', 'TaskAbandoned']);

export const taskStream = (taskId: string): string => `task-${taskId}`;

export const readTaskEvent = (e: Pick<RecordedEvent, 'type' | 'data'>): TaskEvent | undefined =>
  TASK_EVENT_TYPES.has(e.type) ? ({ type: e.type, data: e.data } as TaskEvent) : undefined;

/** What the tasks remember of each order: the entitlement its BOSS requests are for. */
const TASK_ORDERS = 'task_orders';

export type TasksOptions = {
  paymentQueryAfterSeconds: number;
  /** OPEN_PLATFORM_CALLBACK_URL is set: order outcomes create `callback` tasks. */
  callbacks?: boolean;
};

/** What one order event tells the open platform, or undefined for events it is not told about. */
export type CallbackFacts = {
  /** The task id, which is the callback's callbackId. */
  id: string;
  status: OrderCallbackStatus;
  at: string;
  reason?: string;
  validFrom?: string;
  validUntil?: string;
};

export const callbackFor = (e: OrderEvent): CallbackFacts | undefined => {
  const id = (status: OrderCallbackStatus) => `callback:${e.data.orderId}:${status}`;
  switch (e.type) {
    case 'OrderPaid':
      return { id: id('paid'), status: 'paid', at: e.data.paidAt };
    case 'OrderProvisioned': {
      const { requestNo, validFrom, validUntil, at } = e.data;
      return { id: requestNo === 0 ? id('provisioned') : `${id('provisioned')}:${requestNo}`, status: 'provisioned', at, validFrom, validUntil };
    }
    case 'OrderCancelled':
      return { id: id('cancelled'), status: 'cancelled', at: e.data.at, reason: e.data.reason };
    case 'OrderExpired':
      return { id: id('expired'), status: 'expired', at: e.data.at };
    case 'OrderPaymentFailed':
      return { id: id('payment_failed'), status: 'payment_failed', at: e.data.at, reason: e.data.reason };
    case 'OrderProvisioningFailed':
      return { id: id('provisioning_failed'), status: 'provisioning_failed', at: e.data.at, reason: e.data.reason };
    case 'OrderRefunded':
      return { id: id('refunded'), status: 'refunded', at: e.data.at };
    case 'OrderPlaced':
    case 'OrderPaymentPending':
    case 'OrderReprovisionRequested':
      return undefined;
    default:
      return assertNever(e);
  }
};

export const tasksProjection = (opts: TasksOptions): Projection => ({
  name: 'tasks',
  collections: [
    { name: TASKS, indexes: ['status', 'dueAt', 'kind', 'orderId', 'group', 'createdAt'] },
    { name: TASK_ORDERS, indexes: [] },
  ],
  handle: async (event, view) => {
    const task = readTaskEvent(event);
    if (task) {
      const doc = await view.get(TASKS, task.data.taskId);
      return doc ? [{ kind: 'upsert', collection: TASKS, doc: applyTaskEvent(doc, task, event) }] : [];
    }
    const ops: WriteOp[] = [];
    const order = readOrderEvent(event);
    if (order?.type === 'OrderPlaced') {
      const group = entitlementId(order.data.smartcardId, order.data.product.productId);
      ops.push({ kind: 'upsert', collection: TASK_ORDERS, doc: { id: order.data.orderId, group } });
    }
    for (const t of tasksFor(event, opts)) {
      // Created once: a replayed event (or a second event asking for the same task) keeps the first.
      if (await view.get(TASKS, t.id)) continue;
      if (t.kind === 'boss') {
        const info = await view.get(TASK_ORDERS, t.orderId);
        t.group = (info && optStr(info, 'group')) ?? `order:${t.orderId}`;
      }
      ops.push({ kind: 'upsert', collection: TASKS, doc: t });
    }
    return ops;
  },
});

const applyTaskEvent = (doc: Doc, e: TaskEvent, event: RecordedEvent): Doc => {
  switch (e.type) {
    case 'TaskAttemptFailed':
      return { ...doc, attempts: e.data.attempt, lastError: e.data.error, dueAt: e.data.retryAt, ...(e.data.sent && { sent: e.data.sent }) };
    case 'TaskCompleted':
      return { ...doc, attempts: e.data.attempt, status: 'done', outcome: e.data.outcome, finishedAt: event.recordedAt.toISOString() };
    case 'TaskAbandoned':
      return { ...doc, attempts: e.data.attempt, status: 'failed', lastError: e.data.error, finishedAt: event.recordedAt.toISOString() };
    default:
      return assertNever(e);
  }
};

const addSeconds = (iso: string, s: number): string => new Date(Date.parse(iso) + s * 1000).toISOString();

function* tasksFor(event: RecordedEvent, opts: TasksOptions): Generator<Task & Doc> {
  const make = (kind: TaskKind, id: string, orderId: string, paymentId: string, dueAt: string, extra: { seq?: number; template?: SmsTemplate } = {}) => ({
    id,
    kind,
    status: 'pending' as const,
    orderId,
    paymentId,
    dueAt,
    createdAt: event.recordedAt.toISOString(),
    attempts: 0,
    seq: extra.seq ?? 0,
    ...(extra.template && { template: extra.template }),
    correlationId: event.metadata.correlationId,
    causationId: event.id,
  });
  // Due times come from the events' own times (the command clock), never from the store's clock.
  const order = readOrderEvent(event);
  if (order) {
    yield* orderTasks(order, make);
    const callback = opts.callbacks ? callbackFor(order) : undefined;
    if (callback) yield make('callback', callback.id, order.data.orderId, order.type === 'OrderPaid' ? order.data.paymentId : '', callback.at);
    return;
  }
  const payment = readPaymentEvent(event);
  if (payment) yield* paymentTasks(payment, make, opts.paymentQueryAfterSeconds);
}

type Make = (kind: TaskKind, id: string, orderId: string, paymentId: string, dueAt: string, extra?: { seq?: number; template?: SmsTemplate }) => Task & Doc;

function* orderTasks(e: OrderEvent, make: Make): Generator<Task & Doc> {
  switch (e.type) {
    case 'OrderPlaced': {
      const { orderId, paymentId } = e.data;
      yield make('expire', `expire:${orderId}`, orderId, paymentId, e.data.expiresAt);
      yield make('sms', `sms:${orderId}:order-tv`, orderId, paymentId, e.data.placedAt, { template: 'order-tv' });
      return;
    }
    case 'OrderPaymentPending':
      yield make('trade', `trade:${e.data.paymentId}`, e.data.orderId, e.data.paymentId, e.data.at);
      return;
    case 'OrderPaid':
      yield make('boss', `boss:${e.data.orderId}:0`, e.data.orderId, e.data.paymentId, e.data.paidAt, { seq: 0 });
      yield make('sms', `sms:${e.data.orderId}:paid-phone`, e.data.orderId, e.data.paymentId, e.data.paidAt, { template: 'paid-phone' });
      yield make('sms', `sms:${e.data.orderId}:paid-tv`, e.data.orderId, e.data.paymentId, e.data.paidAt, { template: 'paid-tv' });
      return;
    case 'OrderReprovisionRequested':
      yield make('boss', `boss:${e.data.orderId}:${e.data.requestNo}`, e.data.orderId, '', e.data.at, { seq: e.data.requestNo });
      return;
    case 'OrderProvisioned':
      yield make('sms', `sms:${e.data.orderId}:provisioned-tv:${e.data.requestNo}`, e.data.orderId, '', e.data.at, { template: 'provisioned-tv', seq: e.data.requestNo });
      return;
    case 'OrderProvisioningFailed':
      yield make('refund', `refund:${e.data.orderId}`, e.data.orderId, '', e.data.at);
      return;
    case 'OrderRefunded':
      yield make('sms', `sms:${e.data.orderId}:refunded-phone`, e.data.orderId, '', e.data.at, { template: 'refunded-phone' });
      return;
    case 'OrderPaymentFailed':
      yield make('sms', `sms:${e.data.orderId}:failed-phone`, e.data.orderId, '', e.data.at, { template: 'failed-phone' });
      return;
    case 'OrderCancelled':
    case 'OrderExpired':
      return;
    default:
      return assertNever(e);
  }
}

function* paymentTasks(e: PaymentEvent, make: Make, queryAfter: number): Generator<Task & Doc> {
  switch (e.type) {
    case 'PaymentRequested':
      yield make('sms', `sms:${e.data.paymentId}:code:${e.data.codeSeq}`, e.data.orderId, e.data.paymentId, e.data.requestedAt, { template: 'code', seq: e.data.codeSeq });
      return;
    case 'PaymentCodeResent':
      // orderId is filled in by the worker from the payment stream.
      yield make('sms', `sms:${e.data.paymentId}:code:${e.data.codeSeq}`, '', e.data.paymentId, e.data.at, { template: 'code', seq: e.data.codeSeq });
      return;
    case 'PaymentSubmitted':
      yield make('query', `query:${e.data.paymentId}`, '', e.data.paymentId, addSeconds(e.data.at, queryAfter));
      return;
    case 'PaymentCodeRejected':
    case 'PaymentConfirmed':
    case 'PaymentDeclined':
    case 'PaymentSucceeded':
    case 'PaymentFailed':
    case 'PaymentFlagged':
    case 'PaymentVoided':
    case 'PaymentRefunded':
      return;
    default:
      return assertNever(e);
  }
}

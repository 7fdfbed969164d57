/**
 * The outbound queue: every task the schedule created, its state, and when it may next run. The
 * worker asks it for what is runnable, and customer service reads it as the view of all outbound
 * work (GET /v1/outbound). A read model built from the log like any other: the schedule's tasks
 * from order and payment events, and the task streams' events folded with the task decider's evolve.
 *
 * Invariants:
 * - `runKey` is `<queue>|<next try>` for a pending task that may run, and null otherwise, so "what is
 *   due in this queue" is one range query on one index: blocked and finished tasks are never read;
 * - of the BOSS requests of one group (card and package), only the oldest pending one has a runKey:
 *   a blocked group hides nothing behind it;
 * - a claimed task's next try is its claim's end: a lapsed claim (a worker died mid-call) makes it
 *   due again by itself;
 * - `outbound_counts` holds, per kind, how many tasks are given up ('failed'), so the backlog gauges
 *   never read the given-up tasks themselves (they are never cleaned up: they grow with history). A
 *   count moves in the same step as the task document whose status moves into or out of 'failed',
 *   read-modify-write through the view. That is exact because a step's writes commit with the
 *   checkpoint: a replay starts from the documents as they were before the step. Where commits are not
 *   atomic (MongoDB standalone), the count is written before the task document: a replay after a crash
 *   between the two sees the task unmoved, and the store skips the count it writes again as already
 *   applied for that event.
 */
import { z } from 'zod';
import { readOrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent } from '../domain/payment/payment.ts';
import type { Projection, ReadView } from '../projections/projection.ts';
import type { RecordedEvent } from '../stores/event-store.ts';
import type { Doc, WriteOp } from '../stores/read-store.ts';
import { QUEUES, laneOf, queueOf, type Queue } from './lanes.ts';
import { entitlementGroup, tasksFor, type Memory, type ScheduleOptions } from './schedule.ts';
import {
  SMS_TEMPLATES,
  TASK_KINDS,
  evolveTask,
  initialTask,
  nextTryAt,
  readTaskEvent,
  type TaskKind,
  type TaskSpec,
  type TaskState,
  type TaskStatus,
} from './task.ts';

export const OUTBOUND_TASKS = 'outbound_tasks';
/** What the schedule needs to remember from earlier events (see schedule.ts, Memory). */
const OUTBOUND_MEMORY = 'outbound_memory';
/** Pending BOSS requests per group, oldest first. */
const OUTBOUND_GROUPS = 'outbound_groups';
/** Given-up tasks per kind, one document each (id: the kind). */
export const OUTBOUND_COUNTS = 'outbound_counts';

const sent = z.record(z.string(), z.string());
const taskState = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('pending'),
    attempts: z.number().int(),
    dueAt: z.string().optional(),
    lastError: z.string().optional(),
    sent: sent.optional(),
    claim: z.object({ attempt: z.number().int(), worker: z.string(), until: z.string() }).optional(),
  }),
  z.object({ status: z.literal('done'), attempts: z.number().int(), outcome: z.string(), lastError: z.string().optional() }),
  z.object({ status: z.literal('failed'), attempts: z.number().int(), error: z.string(), reason: z.enum(['refused', 'exhausted', 'deadline']) }),
]);
const taskSpec = z.object({
  id: z.string(),
  kind: z.enum(TASK_KINDS),
  orderId: z.string(),
  paymentId: z.string(),
  seq: z.number().int(),
  template: z.enum(SMS_TEMPLATES).optional(),
  group: z.string().optional(),
  dueAt: z.string(),
  deadline: z.string().optional(),
  createdAt: z.string(),
  correlationId: z.string(),
  causationId: z.string(),
});
/** A task as the queue stores it: the spec, the folded state, and the fields it is listed by. */
const queueDoc = taskSpec.extend({ state: taskState, queue: z.enum(QUEUES) });

export type QueuedTask = { spec: TaskSpec; state: TaskState; queue: Queue };

/** A stored queue document, checked: a malformed one is a projection bug, so it throws. */
export const queuedTask = (doc: Doc): QueuedTask => {
  const { state, queue, ...spec } = queueDoc.parse(doc);
  return { spec, state, queue };
};

const runKeyOf = (queue: Queue, spec: TaskSpec, state: TaskState, runnable: boolean): string | null =>
  state.status === 'pending' && runnable ? `${queue}|${nextTryAt(spec, state)}` : null;

/** The stored document: the spec, the state, and flat fields for listing and for the worker's query. */
const docOf = (spec: TaskSpec, state: TaskState, runnable: boolean, updatedAt: string): Doc => {
  const queue = queueOf(spec);
  return {
    ...spec,
    state,
    queue,
    lane: laneOf(queue),
    status: state.status,
    attempts: state.attempts,
    runKey: runKeyOf(queue, spec, state, runnable),
    ...(state.status === 'pending' && { nextTryAt: nextTryAt(spec, state) }),
    ...(state.status === 'pending' && state.claim && { claimedBy: state.claim.worker }),
    ...(state.status !== 'failed' && state.lastError !== undefined && { lastError: state.lastError }),
    ...(state.status === 'failed' && { lastError: state.error, giveUpReason: state.reason }),
    ...(state.status === 'done' && { outcome: state.outcome }),
    ...(state.status !== 'pending' && { finishedAt: updatedAt }),
    updatedAt,
  };
};

/** The worker's query: the runnable tasks of one queue due by `now`, most overdue first. */
export const dueQuery = (queue: Queue, now: Date, limit: number) => ({
  range: { field: 'runKey', gte: `${queue}|`, lt: `${queue}|${now.toISOString()}~` },
  orderBy: { field: 'runKey', direction: 'asc' as const },
  limit,
});

const memoryId = {
  order: (orderId: string) => `order:${orderId}`,
  payment: (paymentId: string) => `payment:${paymentId}`,
};

/** A card's (or a payment's) tasks waiting in order, as stored; a malformed document throws. */
const storedGroup = z.object({ pending: z.array(z.string()) });
const pendingOf = (group: Doc | null): string[] => (group ? storedGroup.parse(group).pending : []);

/** A kind's count of given-up tasks, as stored; a malformed or negative one is a projection bug, so it throws. */
const storedCount = z.object({ id: z.enum(TASK_KINDS), failed: z.number().int().nonnegative() });

/** How many tasks of a kind are given up ('failed'): 0 before the first. */
export const failedTasks = async (view: ReadView, kind: TaskKind): Promise<number> => {
  const doc = await view.get(OUTBOUND_COUNTS, kind);
  return doc ? storedCount.parse(doc).failed : 0;
};

/** +1 as a task moves into 'failed', -1 as it moves out (nothing does today: evolveTask never moves a finished task), else 0. */
const failedDelta = (before: TaskStatus, after: TaskStatus): number => Number(after === 'failed') - Number(before === 'failed');

/** The write of the task's kind's count, when the task's move changes it. */
const countOps = async (kind: TaskKind, before: TaskStatus, after: TaskStatus, view: ReadView): Promise<WriteOp[]> => {
  const delta = failedDelta(before, after);
  if (delta === 0) return [];
  const failed = (await failedTasks(view, kind)) + delta;
  // A task left 'failed' without having been counted into it: a bug, or a store built before the
  // counts and not rebuilt since. Stopping the projection says so; a clamped count would hide it.
  if (failed < 0) throw new Error(`${OUTBOUND_COUNTS}: the given-up ${kind} tasks would count ${failed}; rebuild the outbound read model`);
  return [{ kind: 'upsert', collection: OUTBOUND_COUNTS, doc: { id: kind, failed } }];
};

export const outboundQueueProjection = (opts: ScheduleOptions): Projection => ({
  name: 'outbound',
  collections: [
    // status+createdAt: the backlog (metrics) and GET /v1/provisioning page a status's tasks in time order, unsorted.
    { name: OUTBOUND_TASKS, indexes: ['runKey', 'status', 'kind', 'orderId', 'createdAt'], compound: [['status', 'createdAt']] },
    { name: OUTBOUND_MEMORY, indexes: [] },
    { name: OUTBOUND_GROUPS, indexes: [] },
    { name: OUTBOUND_COUNTS, indexes: [] },
  ],
  handle: async (event, view) => {
    const task = readTaskEvent(event);
    if (task) return onTaskEvent(task.data.taskId, (s) => evolveTask(s, task), event, view);
    const e = readOrderEvent(event) ?? readPaymentEvent(event);
    if (!e) return [];
    const ops: WriteOp[] = [];
    const memory: Memory = {};
    if (e.type === 'OrderPlaced') {
      memory.group = entitlementGroup(e.data.smartcardId, e.data.product.productId);
      ops.push({ kind: 'upsert', collection: OUTBOUND_MEMORY, doc: { id: memoryId.order(e.data.orderId), group: memory.group } });
    } else if (e.type === 'PaymentRequested') {
      memory.payment = { orderId: e.data.orderId, payBy: e.data.payBy };
      ops.push({ kind: 'upsert', collection: OUTBOUND_MEMORY, doc: { id: memoryId.payment(e.data.paymentId), ...memory.payment } });
    } else if (e.type === 'OrderPaid' || e.type === 'OrderReprovisionRequested') {
      const m = await view.get(OUTBOUND_MEMORY, memoryId.order(e.data.orderId));
      if (typeof m?.group === 'string') memory.group = m.group;
    } else if (e.type === 'PaymentCodeResent' || e.type === 'PaymentSubmitted') {
      const m = await view.get(OUTBOUND_MEMORY, memoryId.payment(e.data.paymentId));
      if (typeof m?.orderId === 'string' && typeof m.payBy === 'string') memory.payment = { orderId: m.orderId, payBy: m.payBy };
    }
    const at = event.recordedAt.toISOString();
    for (const spec of tasksFor(e, { id: event.id, correlationId: event.metadata.correlationId, recordedAt: at }, memory, opts)) {
      // Created once: a replayed event (or a second event asking for the same task) keeps the first.
      if ((await view.get(OUTBOUND_TASKS, spec.id)) || ops.some((op) => op.kind === 'upsert' && op.doc.id === spec.id)) continue;
      let runnable = true;
      if (spec.group !== undefined) {
        const pending = pendingOf(await view.get(OUTBOUND_GROUPS, spec.group));
        runnable = pending.length === 0;
        ops.push({ kind: 'upsert', collection: OUTBOUND_GROUPS, doc: { id: spec.group, pending: [...pending, spec.id] } });
      }
      ops.push({ kind: 'upsert', collection: OUTBOUND_TASKS, doc: docOf(spec, initialTask, runnable, at) });
    }
    return ops;
  },
});

const onTaskEvent = async (taskId: string, apply: (s: TaskState) => TaskState, event: RecordedEvent, view: ReadView): Promise<WriteOp[]> => {
  const doc = await view.get(OUTBOUND_TASKS, taskId);
  if (!doc) return []; // a task this queue never scheduled (written by a version with other tasks)
  const { spec, state } = queuedTask(doc);
  const next = apply(state);
  // The count before the task document (the invariant above: a non-atomic store's replay).
  const counted = await countOps(spec.kind, state.status, next.status, view);
  return [...counted, ...(await taskOps(spec, next, event.recordedAt.toISOString(), view))];
};

/** The task's document as it moves; in a BOSS group, also the group's queue and the request that may run next. */
const taskOps = async (spec: TaskSpec, next: TaskState, at: string, view: ReadView): Promise<WriteOp[]> => {
  const taskId = spec.id;
  if (spec.group === undefined) return [{ kind: 'upsert', collection: OUTBOUND_TASKS, doc: docOf(spec, next, true, at) }];
  const group = await view.get(OUTBOUND_GROUPS, spec.group);
  const pending = pendingOf(group);
  if (next.status === 'pending') return [{ kind: 'upsert', collection: OUTBOUND_TASKS, doc: docOf(spec, next, pending[0] === taskId, at) }];
  // Finished: the next request of the group may run.
  const rest = pending.filter((id) => id !== taskId);
  const ops: WriteOp[] = [
    { kind: 'upsert', collection: OUTBOUND_TASKS, doc: docOf(spec, next, false, at) },
    { kind: 'upsert', collection: OUTBOUND_GROUPS, doc: { id: spec.group, pending: rest } },
  ];
  const head = rest[0];
  const headDoc = head === undefined ? null : await view.get(OUTBOUND_TASKS, head);
  if (headDoc) {
    const h = queuedTask(headDoc);
    ops.push({ kind: 'upsert', collection: OUTBOUND_TASKS, doc: docOf(h.spec, h.state, true, String(headDoc.updatedAt ?? at)) });
  }
  return ops;
};

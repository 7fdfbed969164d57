/**
 * The outbound queue as a read model: fed events, it must offer the worker exactly what may run now —
 * due tasks, the oldest pending BOSS request of each card, lapsed claims — and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cny } from '../domain/money.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import { rebuild } from '../projections/rebuild.ts';
import { prepareProjections, startProjection } from '../projections/runner.ts';
import type { Lease, ReadStore } from '../stores/read-store.ts';
import { openMongoReadStore } from '../stores/mongodb/read-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../stores/sqlite/read-store.ts';
import { OUTBOUND_COUNTS, OUTBOUND_TASKS, dueQuery, queuedTask } from './queue.ts';
import { TASK_KINDS, type GiveUpReason, type TaskEvent, type TaskKind } from './task.ts';
import { orderPlaced } from '../test/support/events.ts';
import { startMongoStandin } from '../test/support/mongo-standin/server.ts';
import { T0, iso, openQueueModel, queueProjection, type QueueModel } from '../test/support/queue-model.ts';

let model: QueueModel;
let dir: string;
let reads: ReadStore;
let lease: Lease;
let feed: QueueModel['feed'];
beforeEach(async () => {
  model = await openQueueModel();
  ({ dir, reads, lease, feed } = model);
});
afterEach(() => model.close());

const placedOn = (orderId: string, card: string): OrderEvent => orderPlaced({ orderId, paymentId: `p-${orderId}`, smartcardId: card });
const paid = (orderId: string, s: number): OrderEvent => ({
  type: 'OrderPaid',
  data: { orderId, paymentId: `p-${orderId}`, tradeNo: 'T', amount: cny(3800), paidAt: iso(s) },
});
const due = async (queue: 'boss' | 'sms' | 'timer', atSeconds: number): Promise<string[]> =>
  (await reads.find(OUTBOUND_TASKS, dueQuery(queue, new Date(T0 + atSeconds * 1000), 100))).items.map((d) => d.id);

describe('the outbound queue', () => {
  it('offers a task once it is due, in its own queue: the expiry timer only at the deadline', async () => {
    await feed('order-o1', placedOn('o1', 'card-1'));
    expect(await due('sms', 0)).toEqual(['sms:o1:order-tv']);
    expect(await due('timer', 899)).toEqual([]);
    expect(await due('timer', 900)).toEqual(['expire:o1']);
  });

  it('of one card’s BOSS requests only the oldest pending one runs; when it finishes the next one does', async () => {
    await feed('order-a', placedOn('a', 'card-1'));
    await feed('order-b', placedOn('b', 'card-1'));
    await feed('order-c', placedOn('c', 'card-2'));
    await feed('order-a', paid('a', 10));
    await feed('order-b', paid('b', 11));
    await feed('order-c', paid('c', 12));
    expect(await due('boss', 100)).toEqual(['boss:a:0', 'boss:c:0']);
    await feed('task-boss:a:0', {
      type: 'TaskAttemptClaimed',
      data: { taskId: 'boss:a:0', kind: 'boss', attempt: 1, worker: 'w', at: iso(20), until: iso(27) },
    });
    expect(await due('boss', 25)).toEqual(['boss:c:0']);
    await feed('task-boss:a:0', { type: 'TaskAttemptFailed', data: { taskId: 'boss:a:0', attempt: 1, error: '409', retryAt: iso(40) } });
    // Failing, the head still holds its card: the renewal waits behind it, nobody else does.
    expect(await due('boss', 30)).toEqual(['boss:c:0']);
    expect(await due('boss', 40)).toEqual(['boss:c:0', 'boss:a:0']); // most overdue first
    await feed('task-boss:a:0', { type: 'TaskCompleted', data: { taskId: 'boss:a:0', attempt: 2, outcome: 'bossRef B' } });
    expect(await due('boss', 41)).toEqual(['boss:b:0', 'boss:c:0']);
    const done = await reads.get(OUTBOUND_TASKS, 'boss:a:0');
    expect(done && queuedTask(done).state).toEqual({ status: 'done', attempts: 2, outcome: 'bossRef B', lastError: '409' });
  });

  it('a claim that lapses without an outcome makes the task due again by itself', async () => {
    await feed('order-o1', placedOn('o1', 'card-1'));
    await feed('task-sms:o1:order-tv', {
      type: 'TaskAttemptClaimed',
      data: { taskId: 'sms:o1:order-tv', kind: 'sms', attempt: 1, worker: 'w', at: iso(1), until: iso(8) },
    });
    expect(await due('sms', 7)).toEqual([]);
    expect(await due('sms', 8)).toEqual(['sms:o1:order-tv']);
  });

  it('a given-up task leaves the queue; the view keeps why', async () => {
    await feed('order-o1', placedOn('o1', 'card-1'));
    await feed('task-sms:o1:order-tv', { type: 'TaskAbandoned', data: { taskId: 'sms:o1:order-tv', attempt: 8, error: 'sms: HTTP 503', reason: 'exhausted' } });
    expect(await due('sms', 10_000)).toEqual([]);
    expect(await reads.get(OUTBOUND_TASKS, 'sms:o1:order-tv')).toMatchObject({ status: 'failed', giveUpReason: 'exhausted', lastError: 'sms: HTTP 503' });
  });

  it('a replayed event creates nothing new and moves nothing back', async () => {
    await feed('order-o1', placedOn('o1', 'card-1'));
    await feed('task-sms:o1:order-tv', { type: 'TaskCompleted', data: { taskId: 'sms:o1:order-tv', attempt: 1, outcome: 'sent' } });
    await feed('order-o1', placedOn('o1', 'card-1'));
    expect(await reads.get(OUTBOUND_TASKS, 'sms:o1:order-tv')).toMatchObject({ status: 'done' });
  });
});

const claimed = (taskId: string, kind: TaskKind, attempt: number, s: number): TaskEvent => ({
  type: 'TaskAttemptClaimed',
  data: { taskId, kind, attempt, worker: 'w', at: iso(s), until: iso(s + 7) },
});
const attemptFailed = (taskId: string, attempt: number, s: number): TaskEvent => ({
  type: 'TaskAttemptFailed',
  data: { taskId, attempt, error: 'HTTP 503', retryAt: iso(s + 10) },
});
const gaveUp = (taskId: string, attempt: number, reason: GiveUpReason = 'exhausted'): TaskEvent => ({
  type: 'TaskAbandoned',
  data: { taskId, attempt, error: 'HTTP 503', reason },
});
const completed = (taskId: string, attempt: number): TaskEvent => ({ type: 'TaskCompleted', data: { taskId, attempt, outcome: 'ok' } });

/** The given-up tasks per kind, as the queue stores them in `store` (kinds without a document left out). */
const failedCounts = async (store: Pick<ReadStore, 'get'>): Promise<Record<string, unknown>> => {
  const docs = await Promise.all(TASK_KINDS.map((kind) => store.get(OUTBOUND_COUNTS, kind)));
  return Object.fromEntries(docs.flatMap((d) => (d ? [[d.id, d.failed]] : [])));
};

const SMS1 = 'sms:o1:order-tv';
const SMS2 = 'sms:o2:order-tv';
/** A log, and the given-up tasks per kind the queue must count after each of its events. */
const HISTORY: ReadonlyArray<{ why: string; stream: string; event: OrderEvent | TaskEvent; failed: Record<string, number> }> = [
  { why: 'tasks are created pending', stream: 'order-o1', event: placedOn('o1', 'card-1'), failed: {} },
  { why: 'tasks are created pending', stream: 'order-o2', event: placedOn('o2', 'card-2'), failed: {} },
  { why: 'a claim', stream: `task-${SMS1}`, event: claimed(SMS1, 'sms', 1, 1), failed: {} },
  { why: 'a retry scheduled: still pending', stream: `task-${SMS1}`, event: attemptFailed(SMS1, 1, 2), failed: {} },
  { why: 'the retry claimed', stream: `task-${SMS1}`, event: claimed(SMS1, 'sms', 2, 12), failed: {} },
  { why: 'given up', stream: `task-${SMS1}`, event: gaveUp(SMS1, 2), failed: { sms: 1 } },
  // Nothing moves a given-up task again (evolveTask), whatever the log holds after its end.
  { why: 'tried again after its end', stream: `task-${SMS1}`, event: claimed(SMS1, 'sms', 3, 30), failed: { sms: 1 } },
  { why: 'a retry after its end', stream: `task-${SMS1}`, event: attemptFailed(SMS1, 3, 31), failed: { sms: 1 } },
  { why: 'given up again', stream: `task-${SMS1}`, event: gaveUp(SMS1, 3), failed: { sms: 1 } },
  { why: 'done after its end', stream: `task-${SMS1}`, event: completed(SMS1, 4), failed: { sms: 1 } },
  { why: 'a task done is not counted', stream: 'task-expire:o1', event: completed('expire:o1', 0), failed: { sms: 1 } },
  { why: 'another task of the kind given up', stream: `task-${SMS2}`, event: gaveUp(SMS2, 5), failed: { sms: 2 } },
  { why: 'a BOSS request created', stream: 'order-o1', event: paid('o1', 40), failed: { sms: 2 } },
  { why: 'another kind, counted on its own', stream: 'task-boss:o1:0', event: gaveUp('boss:o1:0', 1, 'refused'), failed: { sms: 2, boss: 1 } },
  // Customer service's answer to a refused BOSS request is a new request: the refused one stays given up.
  {
    why: 'a reprovision',
    stream: 'order-o1',
    event: { type: 'OrderReprovisionRequested', data: { orderId: 'o1', requestNo: 1, at: iso(50) } },
    failed: { sms: 2, boss: 1 },
  },
  { why: 'the new request done', stream: 'task-boss:o1:1', event: completed('boss:o1:1', 1), failed: { sms: 2, boss: 1 } },
];

describe('the count of given-up tasks', () => {
  it('counts a task when it is given up, once, whatever follows; each kind on its own; nothing else', async () => {
    for (const [i, step] of HISTORY.entries()) {
      await feed(step.stream, step.event);
      expect(await failedCounts(reads), `after event ${i + 1} (${step.event.type}: ${step.why})`).toEqual(step.failed);
    }
    expect(await reads.get(OUTBOUND_COUNTS, 'sms')).toEqual({ id: 'sms', failed: 2 });
    expect(await reads.get(OUTBOUND_TASKS, 'boss:o1:0')).toMatchObject({ status: 'failed' });
  });

  it('a stored count that is not a whole number of at least 0 stops the queue: a projection bug is not carried on', async () => {
    await feed('order-o1', placedOn('o1', 'card-1'));
    await reads.commit(lease, { position: { commit: 100n, prepare: 100n }, streamId: 'x', revision: 0 }, [
      { kind: 'upsert', collection: OUTBOUND_COUNTS, doc: { id: 'sms', failed: -1 } },
    ]);
    await expect(feed(`task-${SMS1}`, gaveUp(SMS1, 1))).rejects.toThrow(/failed/);
    expect(await reads.get(OUTBOUND_TASKS, SMS1)).toMatchObject({ status: 'pending' });
  });

  it('a rebuild from the log writes the counts the live queue wrote', async () => {
    const events = await openSqliteEventStore(join(dir, 'events.db'));
    const store = openSqliteReadStore(join(dir, 'rebuilt.db'));
    const deps = { events, reads: store, logger: pino({ level: 'silent' }), now: () => new Date() };
    try {
      const metadata = { correlationId: 'c', causationId: 'c', actor: { role: 'test', client: 'test' }, schemaVersion: 1 };
      for (const { stream, event } of HISTORY) await events.append(stream, [{ id: randomUUID(), type: event.type, data: event.data, metadata }], 'any');
      await prepareProjections(store, [queueProjection]);
      const live = startProjection(queueProjection, { ...deps, owner: 'live' });
      await live.waitFor(await events.headPosition());
      await live.stop();
      const built = await failedCounts(store);
      expect(built).toEqual(HISTORY.at(-1)?.failed);
      // Small batches: counts carried across commits as well as within one.
      await rebuild([queueProjection], { ...deps, owner: 'rebuild', batch: { maxEvents: 3 } });
      expect((await store.versions('outbound')).active).toBe(2);
      expect(await failedCounts(store)).toEqual(built);
    } finally {
      await store.close();
      await events.close();
    }
  });
  it.each([
    { stoppedAt: OUTBOUND_TASKS, countBefore: { sms: 1 } },
    { stoppedAt: OUTBOUND_COUNTS, countBefore: {} },
  ])(
    'on a MongoDB standalone (no transactions), a crash at the write of $stoppedAt is repaired by replay: counted once',
    async ({ stoppedAt, countBefore }) => {
      const standin = await startMongoStandin({ replicaSet: false });
      const mongo = await openQueueModel(await openMongoReadStore(standin.url, 'tvpay_read'));
      const { reads: store, apply } = mongo;
      const admin = new MongoClient(standin.url);
      try {
        await apply(1, 'order-o1', placedOn('o1', 'card-1'));
        // The process dies at one of the event's writes: that write fails, as if never sent, and so does the rest.
        await admin.db('admin').command({
          configureFailPoint: 'failCommand',
          mode: { times: 1 },
          data: { failCommands: ['update'], namespace: `tvpay_read.${stoppedAt}`, errorCode: 8 },
        });
        await expect(apply(2, `task-${SMS1}`, gaveUp(SMS1, 1))).rejects.toThrow();
        expect(await failedCounts(store)).toEqual(countBefore);
        expect(await store.get(OUTBOUND_TASKS, SMS1)).toMatchObject({ status: 'pending' });
        // The restarted queue replays the event: the task moves, and the count it writes again is skipped.
        await apply(2, `task-${SMS1}`, gaveUp(SMS1, 1));
        expect(await failedCounts(store)).toEqual({ sms: 1 });
        expect(await store.get(OUTBOUND_TASKS, SMS1)).toMatchObject({ status: 'failed' });
        // And again, whole: nothing moves.
        await apply(2, `task-${SMS1}`, gaveUp(SMS1, 1));
        expect(await failedCounts(store)).toEqual({ sms: 1 });
      } finally {
        await mongo.close();
        await admin.close();
        await standin.close();
      }
    },
  );
});

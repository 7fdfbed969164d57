/**
 * The outbound queue as a read model: fed events, it must offer the worker exactly what may run now —
 * due tasks, the oldest pending BOSS request of each card, lapsed claims — and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cny } from '../domain/money.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { Lease, ReadStore } from '../stores/read-store.ts';
import { openSqliteReadStore } from '../stores/sqlite/read-store.ts';
import { OUTBOUND_TASKS, dueQuery, outboundQueueProjection, queuedTask } from './queue.ts';
import type { TaskEvent } from './task.ts';
import { orderPlaced, recordedEvent } from '../test/support/events.ts';

const T0 = Date.parse('2026-11-25T08:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const projection = outboundQueueProjection({ paymentQueryAfterSeconds: 120, callbacks: false });

let dir: string;
let reads: ReadStore;
let lease: Lease;
let seq = 0;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvpay-queue-'));
  reads = openSqliteReadStore(join(dir, 'read.db'));
  await reads.ensureCollections(projection.collections);
  const got = await reads.acquireLease('outbound', 'test', 60_000, new Date(T0));
  if (!got) throw new Error('no lease');
  lease = got;
  seq = 0;
});
afterEach(async () => {
  await reads.close();
  rmSync(dir, { recursive: true, force: true });
});

const feed = async (streamId: string, e: OrderEvent | TaskEvent): Promise<void> => {
  seq += 1;
  const event = recordedEvent(seq, e, streamId, new Date(T0 + seq));
  const ops = await projection.handle(event, reads);
  await reads.commit(lease, { position: event.position, streamId, revision: 0 }, ops);
};

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

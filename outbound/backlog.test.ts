import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../app/metrics.ts';
import { cny } from '../domain/money.ts';
import type { ReadView } from '../projections/projection.ts';
import { everyDoc, type Query, type ReadStore } from '../stores/read-store.ts';
import { BACKLOG_KINDS, BACKLOG_STATUSES, readTaskBacklog } from './backlog.ts';
import { OUTBOUND_TASKS } from './queue.ts';
import { orderPlaced } from '../test/support/events.ts';
import { T0, iso, openQueueModel, type QueueModel } from '../test/support/queue-model.ts';
import { parseScrape, type Labels, type Sample } from '../test/support/promql.ts';

type Row = { kind: string; status: string; count: number; oldestDueAt: Date | null };

let model: QueueModel;
let reads: ReadStore;
beforeEach(async () => {
  model = await openQueueModel();
  reads = model.reads;
  const { feed } = model;
  const gaveUp = (taskId: string): Promise<void> =>
    feed(`task-${taskId}`, { type: 'TaskAbandoned', data: { taskId, attempt: 3, error: 'HTTP 503', reason: 'exhausted' } });
  for (const o of ['o1', 'o2', 'o3']) await feed(`order-${o}`, orderPlaced({ orderId: o, paymentId: `p-${o}`, smartcardId: `card-${o}` }));
  await feed('order-o1', { type: 'OrderPaid', data: { orderId: 'o1', paymentId: 'p-o1', tradeNo: 'T', amount: cny(3800), paidAt: iso(10) } });
  await gaveUp('sms:o1:order-tv');
  await gaveUp('sms:o2:order-tv');
  await gaveUp('boss:o1:0');
  await feed('task-sms:o3:order-tv', {
    type: 'TaskAttemptClaimed',
    data: { taskId: 'sms:o3:order-tv', kind: 'sms', attempt: 1, worker: 'w', at: iso(1), until: iso(8) },
  });
  await feed('task-sms:o3:order-tv', { type: 'TaskAttemptFailed', data: { taskId: 'sms:o3:order-tv', attempt: 1, error: 'HTTP 503', retryAt: iso(12) } });
  await feed('task-expire:o2', { type: 'TaskCompleted', data: { taskId: 'expire:o2', attempt: 0, outcome: 'expired' } });
});
afterEach(() => model.close());

/** The store as a view that remembers what it was asked. */
const recording = (store: ReadStore) => {
  const finds: Array<{ collection: string; query: Query }> = [];
  const gets: Array<{ collection: string; id: string }> = [];
  const view: ReadView = {
    get: (collection, id) => {
      gets.push({ collection, id });
      return store.get(collection, id);
    },
    find: (collection, query) => {
      finds.push({ collection, query });
      return store.find(collection, query);
    },
  };
  return { view, finds, gets };
};

/** The backlog as a scan of every pending and every given-up task computes it: what the gauges reported before the counts. */
const scanned = async (store: ReadStore): Promise<Row[]> => {
  const rows = new Map<string, Row>();
  for (const status of BACKLOG_STATUSES) {
    for await (const doc of everyDoc(store, OUTBOUND_TASKS, { where: { status }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 2 })) {
      const kind = String(doc.kind);
      const row = rows.get(`${kind} ${status}`) ?? { kind, status, count: 0, oldestDueAt: null };
      row.count++;
      const due = status === 'pending' && typeof doc.nextTryAt === 'string' ? new Date(doc.nextTryAt) : null;
      if (due && (!row.oldestDueAt || due < row.oldestDueAt)) row.oldestDueAt = due;
      rows.set(`${kind} ${status}`, row);
    }
  }
  return [...rows.values()];
};

const sorted = (rows: readonly Row[]): Row[] => [...rows].sort((a, b) => `${a.kind} ${a.status}`.localeCompare(`${b.kind} ${b.status}`));

/** The value of the one series with exactly these labels, or undefined when it is not exported. */
const value = (samples: Sample[], name: string, labels: Labels): number | undefined => {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
};

describe('the outbound backlog', () => {
  it('the rows a scan of every pending and given-up task gives: given-up tasks per kind, pending ones with the oldest due time', async () => {
    const rows = sorted(await readTaskBacklog(reads)());
    expect(rows).toEqual(sorted(await scanned(reads)));
    expect(rows).toEqual([
      { kind: 'boss', status: 'failed', count: 1, oldestDueAt: null },
      { kind: 'expire', status: 'pending', count: 2, oldestDueAt: new Date('2026-11-25T08:15:00.000Z') },
      { kind: 'sms', status: 'failed', count: 2, oldestDueAt: null },
      // paid-phone and paid-tv of o1 (due when paid), order-tv of o3 (due again after its failed attempt).
      { kind: 'sms', status: 'pending', count: 3, oldestDueAt: new Date(iso(10)) },
    ]);
  });

  it('never reads a given-up task: of the tasks, it asks only for the pending ones', async () => {
    const asked = recording(reads);
    await readTaskBacklog(asked.view)();
    expect(asked.finds.length).toBeGreaterThan(0);
    for (const { collection, query } of asked.finds)
      expect({ collection, status: query.where?.status }).toEqual({ collection: OUTBOUND_TASKS, status: 'pending' });
    expect(asked.gets.filter((g) => g.collection === OUTBOUND_TASKS)).toEqual([]);
  });

  it('feeds the gauges: tasks per kind and status, and how long the oldest pending one has been due', async () => {
    const metrics = createMetrics({ version: 'test' });
    metrics.watchTaskBacklog(readTaskBacklog(reads), { kinds: BACKLOG_KINDS, statuses: BACKLOG_STATUSES }, () => new Date(T0 + 100_000));
    const scrape = parseScrape(await metrics.registry.metrics());
    const backlog = (kind: string, status: string) => value(scrape, 'tvpay_task_backlog', { kind, status });
    const overdue = (kind: string, status: string) => value(scrape, 'tvpay_task_backlog_overdue_seconds', { kind, status });
    expect([backlog('sms', 'failed'), backlog('boss', 'failed'), backlog('expire', 'failed')]).toEqual([2, 1, 0]);
    expect([backlog('sms', 'pending'), backlog('boss', 'pending'), backlog('expire', 'pending')]).toEqual([3, 0, 2]);
    expect([overdue('sms', 'pending'), overdue('sms', 'failed'), overdue('expire', 'pending')]).toEqual([90, 0, 0]);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QUEUES } from '../outbound/lanes.ts';
import { readTaskBacklog } from '../outbound/backlog.ts';
import { dueQuery, OUTBOUND_TASKS, outboundQueueProjection } from '../outbound/queue.ts';
import { financeProjection } from '../projections/finance.ts';
import { ORDERS, ordersProjection } from '../projections/orders.ts';
import { quietSince, subscriberFacts, subscribersProjection } from '../projections/subscribers.ts';
import { prepareProjections } from '../projections/runner.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { openSqliteReadStore } from '../stores/sqlite/read-store.ts';
import { readStoreContract } from './contracts/read-store.contract.ts';

const tempFile = async (): Promise<{ file: string; cleanup(): Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'tvpay-read-'));
  return { file: join(dir, 'read.db'), cleanup: () => rm(dir, { recursive: true, force: true }) };
};

readStoreContract('sqlite', async () => {
  const { file, cleanup } = await tempFile();
  return { store: openSqliteReadStore(file), cleanup };
});

/** The store's file opened read-only, with what SQLite plans for a statement on it (each `?` bound to null). */
const onFile = (file: string, check: (plan: (sql: string) => string, db: Database.Database) => void): void => {
  const db = new Database(file, { readonly: true });
  try {
    const plan = (sql: string): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from(sql.matchAll(/\?/g), () => null)) as Array<{ detail: string }>)
        .map((r) => r.detail)
        .join('; ');
    check(plan, db);
  } finally {
    db.close();
  }
};

describe('sqlite read store specifics', () => {
  let file: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ file, cleanup } = await tempFile());
  });
  afterEach(() => cleanup());

  it('uses WAL, and the expression indexes serve equality, range and sort', async () => {
    const store = openSqliteReadStore(file);
    await store.ensureCollections([{ name: 'orders', indexes: ['status', 'placedAt'] }]);
    await store.close();
    onFile(file, (plan, db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(plan(`SELECT id FROM "c_orders" WHERE json_extract(doc, '$.status') = 'paid'`)).toContain('INDEX ix:orders:status');
      const keyset = plan(
        `SELECT id FROM "c_orders" WHERE (json_extract(doc, '$.placedAt'), id) > ('2030', 'o1') ORDER BY json_extract(doc, '$.placedAt'), id LIMIT 5`,
      );
      expect(keyset).toContain('INDEX ix:orders:placedAt');
      expect(keyset).not.toContain('TEMP B-TREE');
    });
  });

  it("serves the service's list queries in index order: nothing growing with history is read whole or sorted", async () => {
    const store = openSqliteReadStore(file);
    await prepareProjections(store, [ordersProjection({ searchKey: () => 'key', reveal: async () => ({ kind: 'erased' as const }) }), financeProjection()]);
    await store.close();
    onFile(file, (plan) => {
      const x = (field: string): string => `json_extract(doc, '$.${field}')`;
      // Customer service: orders of a status, newest first, and the next page.
      const byStatus = plan(`SELECT id FROM "c_orders" WHERE ${x('status')} = 'paid' ORDER BY ${x('placedAt')} DESC, id DESC LIMIT 51`);
      const nextPage = plan(
        `SELECT id FROM "c_orders" WHERE ${x('status')} = 'paid' AND ((${x('placedAt')}, id) < ('2030', 'o9') OR ${x('placedAt')} IS NULL) ORDER BY ${x('placedAt')} DESC, id DESC LIMIT 51`,
      );
      // Finance: one day's entries (of one kind) in time order.
      const day = plan(
        `SELECT id FROM "c_finance_entries" WHERE ${x('day')} = '2030-01-01' AND ${x('kind')} = 'refund' ORDER BY ${x('at')} ASC, id ASC LIMIT 51`,
      );
      for (const p of [byStatus, nextPage]) expect(p).toContain('INDEX ix:orders:status+placedAt');
      expect(day).toContain('INDEX ix:finance_entries:day+at');
      for (const p of [byStatus, nextPage, day]) expect(p).not.toContain('TEMP B-TREE');
    });
  });

  it('answers every query the task worker, the metrics and the projections make from an index, never by reading a table that grows with history', async () => {
    const store = openSqliteReadStore(file);
    await prepareProjections(store, [
      ordersProjection({ searchKey: () => 'key', reveal: async () => ({ kind: 'erased' as const }) }),
      outboundQueueProjection({ paymentQueryAfterSeconds: 60, callbacks: true }),
      subscribersProjection(),
    ]);
    const lease = await store.acquireLease('outbound', 'test', 10_000, new Date());
    if (!lease) throw new Error('no lease');
    const tasks = ['t1', 't2'].map((id, i) => ({
      kind: 'upsert' as const,
      collection: OUTBOUND_TASKS,
      doc: { id, kind: 'sms', status: 'pending', createdAt: `2030-01-0${i + 1}` },
    }));
    await store.commit(lease, { position: { commit: 1n, prepare: 1n }, streamId: 's', revision: 0 }, tasks);
    const pending = { where: { status: 'pending' }, orderBy: { field: 'createdAt', direction: 'asc' as const }, limit: 1 };
    const { nextCursor } = await store.find(OUTBOUND_TASKS, pending);
    if (!nextCursor) throw new Error('no second page');
    await store.close();
    // The SQL the store itself builds for each query, as it prepares it (a store of its own per query:
    // a store prepares each statement once).
    const sqlOf = async (query: (s: ReadStore) => Promise<unknown>): Promise<string[]> => {
      const s = openSqliteReadStore(file);
      const prepare = vi.spyOn(Database.prototype, 'prepare');
      try {
        await query(s);
        return prepare.mock.calls.map(([sql]) => sql).filter((sql) => /^SELECT id, doc/.test(sql));
      } finally {
        prepare.mockRestore();
        await s.close();
      }
    };
    const now = new Date('2030-01-01T00:00:00.000Z');
    const queries: Record<string, string[]> = {};
    // outbound/worker.ts dispatch: each queue's due tasks, most urgent first.
    for (const q of QUEUES) queries[`due ${q}`] = await sqlOf((s) => s.find(OUTBOUND_TASKS, dueQuery(q, now, 16)));
    // outbound/backlog.ts (tvpay_task_backlog): the pending tasks, page by page (the given-up ones are counted per kind, read by id).
    queries['backlog'] = await sqlOf((s) => readTaskBacklog(s)());
    queries['backlog next page'] = await sqlOf((s) => s.find(OUTBOUND_TASKS, { ...pending, cursor: nextCursor }));
    // projections/subscribers.ts: a subscriber's orders (erasure), the quiet subscribers (retention).
    queries['subscriber orders'] = await sqlOf((s) => subscriberFacts({ get: async () => ({ id: 's1' }), find: (c, q) => s.find(c, q) }, 's1'));
    queries['quiet subscribers'] = await sqlOf((s) => quietSince(s, now, 100));
    // projections/orders.ts onErased: the erased subscriber's orders.
    queries['orders of a subscriber'] = await sqlOf((s) =>
      s.find(ORDERS, { where: { subscriberId: 's1' }, orderBy: { field: 'placedAt', direction: 'asc' }, limit: 500 }),
    );

    onFile(file, (plan) => {
      for (const [name, sqls] of Object.entries(queries)) {
        expect(sqls.length, `${name}: no query seen`).toBeGreaterThan(0);
        for (const sql of sqls) {
          const p = plan(sql);
          expect(p, `${name}: ${sql}`).toMatch(/USING (COVERING )?INDEX ix:/);
          expect(p, `${name}: ${sql}`).not.toMatch(/SCAN c_/);
        }
      }
      // The worker's and the backlog's queries come in index order: no sort of what they select.
      for (const name of [...QUEUES.map((q) => `due ${q}`), 'backlog', 'backlog next page']) {
        for (const sql of queries[name] ?? []) expect(plan(sql), name).not.toContain('TEMP B-TREE');
      }
    });
  });

  it('remembers collections across reopen and keeps leases and checkpoints', async () => {
    const first = openSqliteReadStore(file);
    await first.ensureCollections([{ name: 'orders', indexes: ['status'] }]);
    const lease = await first.acquireLease('p', 'a', 1000, new Date(0));
    if (!lease) throw new Error('no lease');
    await first.commit(lease, { position: { commit: 5n, prepare: 4n }, streamId: 's', revision: 0 }, [
      { kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'paid' } },
    ]);
    await first.close();
    const second = openSqliteReadStore(file);
    expect(await second.get('orders', 'o1')).toEqual({ id: 'o1', status: 'paid' });
    expect((await second.find('orders', { where: { status: 'paid' }, orderBy: { field: 'status', direction: 'asc' }, limit: 5 })).items).toHaveLength(1);
    expect(await second.checkpoint('p')).toEqual({ commit: 5n, prepare: 4n });
    expect(await second.acquireLease('p', 'b', 1000, new Date(500))).toBeNull();
    expect((await second.acquireLease('p', 'b', 1000, new Date(1000)))?.token).toBe(2);
    await second.close();
  });
});

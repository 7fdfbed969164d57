import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { financeProjection } from '../projections/finance.ts';
import { ordersProjection } from '../projections/orders.ts';
import { prepareProjections } from '../projections/runner.ts';
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

describe('sqlite read store specifics', () => {
  it('uses WAL, and the expression indexes serve equality, range and sort', async () => {
    const { file, cleanup } = await tempFile();
    try {
      const store = openSqliteReadStore(file);
      await store.ensureCollections([{ name: 'orders', indexes: ['status', 'placedAt'] }]);
      await store.close();
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        const plan = (sql: string): string =>
          (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; ');
        expect(plan(`SELECT id FROM "c_orders" WHERE json_extract(doc, '$.status') = 'paid'`)).toContain('INDEX ix:orders:status');
        const keyset = plan(
          `SELECT id FROM "c_orders" WHERE (json_extract(doc, '$.placedAt'), id) > ('2030', 'o1') ORDER BY json_extract(doc, '$.placedAt'), id LIMIT 5`,
        );
        expect(keyset).toContain('INDEX ix:orders:placedAt');
        expect(keyset).not.toContain('TEMP B-TREE');
      } finally {
        db.close();
      }
    } finally {
      await cleanup();
    }
  });

  it("serves the service's list queries in index order: nothing growing with history is read whole or sorted", async () => {
    const { file, cleanup } = await tempFile();
    try {
      const store = openSqliteReadStore(file);
      await prepareProjections(store, [ordersProjection({ searchKey: () => 'key', reveal: async () => ({ kind: 'erased' as const }) }), financeProjection()]);
      await store.close();
      const db = new Database(file, { readonly: true });
      try {
        const plan = (sql: string): string =>
          (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; ');
        const x = (field: string): string => `json_extract(doc, '$.${field}')`;
        // Customer service: orders of a status, newest first, and the next page.
        const byStatus = plan(`SELECT id FROM "c_orders" WHERE ${x('status')} = 'paid' ORDER BY ${x('placedAt')} DESC, id DESC LIMIT 51`);
        const nextPage = plan(
          `SELECT id FROM "c_orders" WHERE ${x('status')} = 'paid' AND ((${x('placedAt')}, id) < ('2030', 'o9') OR ${x('placedAt')} IS NULL) ORDER BY ${x('placedAt')} DESC, id DESC LIMIT 51`,
        );
        // Finance: one day's entries (of one kind) in time order.
        const day = plan(`SELECT id FROM "c_finance_entries" WHERE ${x('day')} = '2030-01-01' AND ${x('kind')} = 'refund' ORDER BY ${x('at')} ASC, id ASC LIMIT 51`);
        for (const p of [byStatus, nextPage]) expect(p).toContain('INDEX ix:orders:status+placedAt');
        expect(day).toContain('INDEX ix:finance_entries:day+at');
        for (const p of [byStatus, nextPage, day]) expect(p).not.toContain('TEMP B-TREE');
      } finally {
        db.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('remembers collections across reopen and keeps leases and checkpoints', async () => {
    const { file, cleanup } = await tempFile();
    try {
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
    } finally {
      await cleanup();
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
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

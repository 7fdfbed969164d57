/**
 * The embedded key store: one SQLite file (DATA_DIR/keys.db), apart from the event log.
 *
 * Invariants:
 * - WAL with synchronous=FULL: a created key is fsynced before `create` resolves. Creates asked for in
 *   the same turn of the event loop are written in one transaction (one fsync), and none resolves
 *   before it has committed;
 * - secure_delete: a destroyed key's bytes are overwritten in its page; right after, the WAL is
 *   checkpointed and truncated, so neither the database file nor the WAL keeps the old page. (What the
 *   file system or the disk keeps of freed blocks is beyond SQLite: docs/privacy.md, threat notes.)
 */
import Database from 'better-sqlite3';
import type { KeyStore, StoredKey } from '../key-store.ts';

type Row = { subscriber_id: string; kid: string; wrapped: string; wrapped_by: string; created_at: string };

const keyOf = (r: Row): StoredKey => ({ subscriberId: r.subscriber_id, kid: r.kid, wrapped: r.wrapped, wrappedBy: r.wrapped_by, createdAt: r.created_at });

export function openSqliteKeyStore(file: string): KeyStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS data_keys (
    subscriber_id TEXT PRIMARY KEY, kid TEXT NOT NULL, wrapped TEXT NOT NULL, wrapped_by TEXT NOT NULL, created_at TEXT NOT NULL)`);
  const select = db.prepare('SELECT * FROM data_keys WHERE subscriber_id = ?');
  const insert = db.prepare(
    'INSERT INTO data_keys (subscriber_id, kid, wrapped, wrapped_by, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber_id) DO NOTHING',
  );
  const remove = db.prepare('DELETE FROM data_keys WHERE subscriber_id = ? AND kid = ?');
  const update = db.prepare('UPDATE data_keys SET wrapped = ?, wrapped_by = ? WHERE subscriber_id = ? AND kid = ? AND wrapped = ?');
  const others = db.prepare('SELECT * FROM data_keys WHERE wrapped_by <> ? ORDER BY subscriber_id LIMIT ?');
  const get = (subscriberId: string): StoredKey | null => {
    const row = select.get(subscriberId) as Row | undefined;
    return row ? keyOf(row) : null;
  };
  const insertAll = db.transaction((keys: readonly StoredKey[]) => {
    for (const key of keys) insert.run(key.subscriberId, key.kid, key.wrapped, key.wrappedBy, key.createdAt);
  });
  /** Creates waiting for the next group commit. */
  let queued: Array<{ key: StoredKey; done(stored: StoredKey): void; fail(err: unknown): void }> = [];
  const commitQueued = (): void => {
    const batch = queued;
    queued = [];
    try {
      insertAll(batch.map((q) => q.key));
    } catch (err) {
      for (const q of batch) q.fail(err);
      return;
    }
    for (const q of batch) {
      // The stored key: the one just written, or the one another writer stored first (DO NOTHING).
      const stored = get(q.key.subscriberId);
      if (stored) q.done(stored);
      else q.fail(new Error(`key store: the key of ${q.key.subscriberId} vanished right after it was created`));
    }
  };
  return {
    async get(subscriberId) {
      return get(subscriberId);
    },
    create(key) {
      return new Promise<StoredKey>((done, fail) => {
        queued.push({ key, done, fail });
        if (queued.length === 1) setImmediate(commitQueued);
      });
    },
    async destroy(subscriberId, kid) {
      const destroyed = remove.run(subscriberId, kid).changes > 0;
      // The old page may still sit in the WAL (and the main file until the next checkpoint): copy the
      // zeroed page over it now and empty the WAL. Another process reading at this moment can make the
      // checkpoint partial; the next destroy or the next automatic checkpoint completes it.
      if (destroyed) db.pragma('wal_checkpoint(TRUNCATE)');
      return destroyed;
    },
    async rewrap(key, wrapped, wrappedBy) {
      return update.run(wrapped, wrappedBy, key.subscriberId, key.kid, key.wrapped).changes > 0;
    },
    async wrappedByOthers(wrappedBy, limit) {
      return (others.all(wrappedBy, limit) as Row[]).map(keyOf);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

/**
 * The read store's commit transaction, on a connection of its own: stores/sqlite/commit-worker.ts runs
 * it on a worker thread, so a projection's writes cost its event loop one message, not the inserts.
 *
 * A request is plain data (it crosses threads): the documents are already JSON text, the tables are
 * already resolved to the lease's version. One IMMEDIATE transaction: fencing check, "already applied?",
 * the version's collections check, writes, checkpoint. It throws LeaseLost or InvalidQuery, changing nothing.
 */
import type Database from 'better-sqlite3';
import { comparePositions, parsePosition } from '../event-store.ts';
import { InvalidQuery, LeaseLost } from '../read-store.ts';
import { type VersionsRecord } from '../read-query.ts';

export type CommitRequest = {
  /** The lease's projection, version, owner and token; `key` is its checkpoint and lease key. */
  projection: string;
  version: number;
  owner: string;
  token: number;
  key: string;
  /** positionToString of the commit point. */
  position: string;
  /** Coalesced: at most one per document. `doc` null deletes. */
  ops: Array<{ collection: string; table: string; id: string; doc: string | null }>;
};

/** What crosses back to the caller: nothing, or the error by name. */
export type CommitReply = { id: number; error?: { name: string; message: string } };

export const commitOn = (db: Database.Database): ((request: CommitRequest) => void) => {
  const statements = new Map<string, Database.Statement>();
  const stmt = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const lease = db.prepare<[string], { owner: string | null; token: number }>('SELECT owner, token FROM leases WHERE projection = ?');
  const checkpoint = db.prepare<[string], string>('SELECT position FROM checkpoints WHERE projection = ?').pluck();
  const versions = db.prepare<[string], string>('SELECT record FROM versions WHERE projection = ?').pluck();
  const moveCheckpoint = db.prepare(
    'INSERT INTO checkpoints (projection, position) VALUES (?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position',
  );

  const transaction = db.transaction((r: CommitRequest) => {
    const held = lease.get(r.key);
    if (!held || held.owner !== r.owner || held.token !== r.token) throw new LeaseLost(r.projection, r.token);
    const current = checkpoint.get(r.key);
    if (current !== undefined && comparePositions(parsePosition(r.position), parsePosition(current)) <= 0) return; // already applied
    if (r.version !== 1) {
      const record = versions.get(r.projection);
      const names = new Set(((record ? (JSON.parse(record) as VersionsRecord).specs[String(r.version)] : undefined) ?? []).map((s) => s.name));
      const stray = r.ops.find((op) => !names.has(op.collection));
      if (stray) throw new InvalidQuery(`version ${r.version} of ${r.projection} has no collection ${stray.collection}`);
    }
    for (const op of r.ops) {
      if (op.doc === null) stmt(`DELETE FROM ${op.table} WHERE id = ?`).run(op.id);
      else stmt(`INSERT INTO ${op.table} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`).run(op.id, op.doc);
    }
    moveCheckpoint.run(r.key, r.position);
  });
  return (request) => transaction.immediate(request);
};

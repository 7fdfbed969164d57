/**
 * The embedded read store: one SQLite file (WAL), a table per collection holding JSON documents,
 * expression indexes on the declared fields, and the projections' checkpoints and leases.
 *
 * Invariants:
 * - `commit` is one IMMEDIATE transaction: fencing check, writes, checkpoint; a commit at or before
 *   the stored checkpoint is a no-op (already applied), so replaying an event changes nothing;
 * - the lease token only grows: a new owner gets previous + 1, renewal keeps it, release keeps it;
 * - table and index names come only from validated collection names and field paths (read-query.ts).
 */
import Database from 'better-sqlite3';
import { comparePositions, parsePosition, positionToString, type Position } from '../event-store.ts';
import {
  InvalidQuery,
  LeaseLost,
  type CollectionSpec,
  type CommitPoint,
  type Doc,
  type Lease,
  type Page,
  type Query,
  type ReadStore,
  type Scalar,
  type WriteOp,
} from '../read-store.ts';
import { checkOp, checkQuery, checkSpec, coalesceOps, encodeCursor, type CheckedQuery } from '../read-query.ts';

type SqlValue = string | number | null;
type LeaseRow = { owner: string | null; token: number; expires_at: number };

const table = (collection: string): string => `"c_${collection}"`;
/** The exact expression the indexes are built on, so the planner can use them. */
const fieldExpr = (field: string): string => `json_extract(doc, '$.${field}')`;
/** better-sqlite3 binds no booleans; json_extract yields 1/0 for JSON true/false. */
const bind = (v: Scalar): SqlValue => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

export function openSqliteReadStore(file: string): ReadStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, indexes TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS checkpoints (projection TEXT PRIMARY KEY, position TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS leases (
      projection TEXT PRIMARY KEY, owner TEXT, token INTEGER NOT NULL, expires_at INTEGER NOT NULL);
  `);

  const specs = new Map<string, CollectionSpec>();
  for (const row of db.prepare('SELECT name, indexes FROM collections').all() as Array<{ name: string; indexes: string }>) {
    const indexes: unknown = JSON.parse(row.indexes);
    if (Array.isArray(indexes)) specs.set(row.name, { name: row.name, indexes: indexes.filter((f): f is string => typeof f === 'string') });
  }
  const specOf = (collection: string): CollectionSpec => {
    const spec = specs.get(collection);
    if (!spec) throw new InvalidQuery(`unknown collection ${JSON.stringify(collection).slice(0, 80)}: call ensureCollections first`);
    return spec;
  };

  const statements = new Map<string, Database.Statement>();
  const stmt = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };

  /** Throws LeaseLost unless `lease` is the projection's current lease (same owner, same token). */
  const fence = (lease: Lease): void => {
    const row = stmt('SELECT owner, token, expires_at FROM leases WHERE projection = ?').get(lease.projection) as LeaseRow | undefined;
    if (!row || row.owner !== lease.owner || row.token !== lease.token) throw new LeaseLost(lease.projection, lease.token);
  };

  const readCheckpoint = (projection: string): Position | null => {
    const row = stmt('SELECT position FROM checkpoints WHERE projection = ?').get(projection) as { position: string } | undefined;
    return row ? parsePosition(row.position) : null;
  };

  const ensureTx = db.transaction((list: readonly CollectionSpec[]) => {
    for (const spec of list) {
      db.exec(`CREATE TABLE IF NOT EXISTS ${table(spec.name)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc)))`);
      for (const field of spec.indexes) {
        db.exec(`CREATE INDEX IF NOT EXISTS "ix:${spec.name}:${field}" ON ${table(spec.name)} (${fieldExpr(field)}, id)`);
      }
      stmt('INSERT INTO collections (name, indexes) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET indexes = excluded.indexes').run(
        spec.name,
        JSON.stringify(spec.indexes),
      );
    }
  });

  const commitTx = db.transaction((lease: Lease, at: CommitPoint, ops: readonly WriteOp[]) => {
    fence(lease);
    const current = readCheckpoint(lease.projection);
    if (current !== null && comparePositions(at.position, current) <= 0) return; // already applied
    for (const op of ops) {
      if (op.kind === 'upsert') {
        stmt(`INSERT INTO ${table(op.collection)} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`).run(
          op.doc.id,
          JSON.stringify(op.doc),
        );
      } else {
        stmt(`DELETE FROM ${table(op.collection)} WHERE id = ?`).run(op.id);
      }
    }
    stmt('INSERT INTO checkpoints (projection, position) VALUES (?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position').run(
      lease.projection,
      positionToString(at.position),
    );
  });

  const resetTx = db.transaction((lease: Lease, collections: readonly string[]) => {
    fence(lease);
    for (const name of collections) stmt(`DELETE FROM ${table(name)}`).run();
    stmt('DELETE FROM checkpoints WHERE projection = ?').run(lease.projection);
  });

  const acquireTx = db.transaction((projection: string, owner: string, ttlMs: number, now: Date): Lease | null => {
    const nowMs = now.getTime();
    const expiresAt = nowMs + ttlMs;
    const row = stmt('SELECT owner, token, expires_at FROM leases WHERE projection = ?').get(projection) as LeaseRow | undefined;
    let token: number;
    if (!row) {
      token = 1;
      stmt('INSERT INTO leases (projection, owner, token, expires_at) VALUES (?, ?, ?, ?)').run(projection, owner, token, expiresAt);
    } else if (row.owner === owner) {
      token = row.token; // renewal keeps the token
      stmt('UPDATE leases SET expires_at = ? WHERE projection = ?').run(expiresAt, projection);
    } else if (row.owner === null || row.expires_at <= nowMs) {
      token = row.token + 1; // a new owner fences off every older token
      stmt('UPDATE leases SET owner = ?, token = ?, expires_at = ? WHERE projection = ?').run(owner, token, expiresAt, projection);
    } else {
      return null;
    }
    return { projection, owner, token, expiresAt: new Date(expiresAt) };
  });

  const find = (collection: string, query: Query): Page => {
    const spec = specOf(collection);
    const q = checkQuery(spec, query);
    const { sql, params } = findSql(collection, q);
    const rows = stmt(sql).all(...params) as Array<{ id: string; doc: string; k: SqlValue }>;
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => JSON.parse(r.doc) as Doc),
      nextCursor: more && last ? encodeCursor({ value: last.k, id: last.id }, q.fingerprint) : null,
    };
  };

  return {
    async ensureCollections(list) {
      list.forEach(checkSpec);
      ensureTx.immediate(list);
      for (const spec of list) specs.set(spec.name, { name: spec.name, indexes: [...spec.indexes] });
    },
    async get(collection, id) {
      specOf(collection);
      const row = stmt(`SELECT doc FROM ${table(collection)} WHERE id = ?`).get(id) as { doc: string } | undefined;
      return row ? (JSON.parse(row.doc) as Doc) : null;
    },
    async find(collection, query) {
      return find(collection, query);
    },
    async commit(lease, at, ops) {
      for (const op of ops) {
        specOf(op.collection);
        checkOp(op);
      }
      commitTx.immediate(lease, at, coalesceOps(ops));
    },
    async checkpoint(projection) {
      return readCheckpoint(projection);
    },
    async acquireLease(projection, owner, ttlMs, now) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      return acquireTx.immediate(projection, owner, Math.ceil(ttlMs), now);
    },
    async releaseLease(lease) {
      // Keeps the token, so whoever acquires next still gets a higher one.
      stmt('UPDATE leases SET owner = NULL, expires_at = 0 WHERE projection = ? AND owner = ? AND token = ?').run(
        lease.projection,
        lease.owner,
        lease.token,
      );
    },
    async reset(lease, collections) {
      collections.forEach(specOf);
      resetTx.immediate(lease, collections);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Keyset pagination on (sort field, id). SQLite sorts NULL (also: missing field) first, like
 * MongoDB sorts null/missing lowest, so a null sort value needs its own branch.
 */
function findSql(collection: string, q: CheckedQuery): { sql: string; params: SqlValue[] } {
  const conds: string[] = [];
  const params: SqlValue[] = [];
  for (const [field, value] of q.where) {
    if (value === null) conds.push(`${fieldExpr(field)} IS NULL`);
    else {
      conds.push(`${fieldExpr(field)} = ?`);
      params.push(bind(value));
    }
  }
  if (q.range) {
    if (q.range.gte !== undefined) {
      conds.push(`${fieldExpr(q.range.field)} >= ?`);
      params.push(q.range.gte);
    }
    if (q.range.lt !== undefined) {
      conds.push(`${fieldExpr(q.range.field)} < ?`);
      params.push(q.range.lt);
    }
  }
  const k = fieldExpr(q.orderBy.field);
  const asc = q.orderBy.direction === 'asc';
  if (q.after) {
    const { value, id } = q.after;
    if (value === null) {
      conds.push(asc ? `((${k} IS NULL AND id > ?) OR ${k} IS NOT NULL)` : `(${k} IS NULL AND id < ?)`);
      params.push(id);
    } else {
      conds.push(asc ? `(${k}, id) > (?, ?)` : `((${k}, id) < (?, ?) OR ${k} IS NULL)`);
      params.push(bind(value), id);
    }
  }
  const dir = asc ? 'ASC' : 'DESC';
  const sql =
    `SELECT id, doc, ${k} AS k FROM ${table(collection)}` +
    (conds.length ? ` WHERE ${conds.join(' AND ')}` : '') +
    ` ORDER BY ${k} ${dir}, id ${dir} LIMIT ?`;
  params.push(q.limit + 1);
  return { sql, params };
}

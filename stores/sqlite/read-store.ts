/**
 * The embedded read store: one SQLite file (WAL), a table per collection version holding JSON
 * documents, expression indexes on the declared fields, and the projections' checkpoints, leases
 * and versions.
 *
 * Invariants:
 * - `commit` is one IMMEDIATE transaction: fencing check, writes, checkpoint; a commit at or before
 *   the stored checkpoint is a no-op (already applied), so replaying events changes nothing. It may
 *   carry the writes of many events (a batch): they and the checkpoint land together or not at all;
 * - the lease token only grows: a new owner gets previous + 1, renewal keeps it, release keeps it,
 *   retirement bumps it and no one can acquire a retired lease again;
 * - a query resolves the collection's active version and reads it inside one read transaction, so it
 *   sees one version whole: a promotion or a drop by another process never shows it half a model;
 * - a promotion is one IMMEDIATE transaction (versions row, registry, both leases);
 * - table and index names come only from validated collection names, field paths and version numbers.
 *
 * Durability: `synchronous=NORMAL`. A crash of the process loses nothing (WAL); a power loss may drop
 * the last commits, never split one, and the projection replays them from its checkpoint
 * (docs/durability.md).
 */
import { setImmediate as turn } from 'node:timers/promises';
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
import {
  RETIRED_OWNER,
  checkOp,
  checkQuery,
  checkSpec,
  checkVersion,
  coalesceOps,
  consumerKey,
  copySpec,
  encodeCursor,
  indexKeys,
  noVersions,
  physicalName,
  type CheckedQuery,
  type VersionsRecord,
} from '../read-query.ts';

type SqlValue = string | number | null;
type LeaseRow = { owner: string | null; token: number; expires_at: number };

const table = (physical: string): string => `"c_${physical}"`;
const indexName = (physical: string, fields: readonly string[]): string => `"ix:${physical}:${fields.join('+')}"`;
/** The exact expression the indexes are built on, so the planner can use them. */
const fieldExpr = (field: string): string => `json_extract(doc, '$.${field}')`;
/** better-sqlite3 binds no booleans; json_extract yields 1/0 for JSON true/false. */
const bind = (v: Scalar): SqlValue => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
/** Rows deleted per statement when a retired version is dropped, so the write lock is held briefly. */
const DROP_CHUNK = 2000;
/** A retired lease never expires. */
const NEVER = Number.MAX_SAFE_INTEGER;

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
    CREATE TABLE IF NOT EXISTS versions (projection TEXT PRIMARY KEY, active INTEGER NOT NULL, record TEXT NOT NULL);
  `);
  // Files from before versions: collections gain their owning projection.
  const columns = db.prepare('PRAGMA table_info(collections)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'projection')) {
    try {
      db.exec('ALTER TABLE collections ADD COLUMN projection TEXT');
    } catch (e) {
      if (!(e instanceof Database.SqliteError && e.message.includes('duplicate column'))) throw e; // another process added it
    }
  }

  const specs = new Map<string, CollectionSpec>();
  const loadSpecs = (): void => {
    for (const row of db.prepare('SELECT name, indexes FROM collections').all() as Array<{ name: string; indexes: string }>) {
      const indexes: unknown = JSON.parse(row.indexes);
      if (Array.isArray(indexes)) specs.set(row.name, { name: row.name, indexes: indexes.filter((f): f is string => typeof f === 'string') });
    }
  };
  loadSpecs();
  const specOf = (collection: string): CollectionSpec => {
    let spec = specs.get(collection);
    if (!spec && typeof collection === 'string') {
      loadSpecs(); // registered by another process (a rebuild) since we opened
      spec = specs.get(collection);
    }
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

  const activeOf = db.prepare<[string], number>('SELECT v.active FROM collections c JOIN versions v ON v.projection = c.projection WHERE c.name = ?').pluck();
  /** The version queries of this collection read. */
  const resolve = (collection: string, version: number | undefined): string =>
    physicalName(collection, version === undefined ? (activeOf.get(collection) ?? 1) : checkVersion(version));

  const loadVersions = (projection: string): VersionsRecord => {
    const row = stmt('SELECT record FROM versions WHERE projection = ?').get(projection) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as VersionsRecord) : noVersions();
  };
  const saveVersions = (projection: string, rec: VersionsRecord): void => {
    stmt(
      'INSERT INTO versions (projection, active, record) VALUES (?, ?, ?) ON CONFLICT (projection) DO UPDATE SET active = excluded.active, record = excluded.record',
    ).run(projection, rec.active, JSON.stringify(rec));
  };
  const activeVersion = (projection: string): number =>
    (stmt('SELECT active FROM versions WHERE projection = ?').pluck().get(projection) as number | undefined) ?? 1;

  const leaseRow = (key: string): LeaseRow | undefined =>
    stmt('SELECT owner, token, expires_at FROM leases WHERE projection = ?').get(key) as LeaseRow | undefined;

  /** Throws LeaseLost unless `lease` is the current lease of its projection version (same owner, same token). */
  const fence = (lease: Lease): void => {
    const row = leaseRow(consumerKey(lease.projection, lease.version));
    if (!row || row.owner !== lease.owner || row.token !== lease.token) throw new LeaseLost(lease.projection, lease.token);
  };

  const readCheckpoint = (key: string): Position | null => {
    const row = stmt('SELECT position FROM checkpoints WHERE projection = ?').get(key) as { position: string } | undefined;
    return row ? parsePosition(row.position) : null;
  };

  /** `doc` is JSON text from JSON.stringify, written only here (tables from before this held a json_valid check too). */
  const createTable = (physical: string): void => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table(physical)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
  };
  const createIndex = (physical: string, fields: readonly string[]): void => {
    db.exec(`CREATE INDEX IF NOT EXISTS ${indexName(physical, fields)} ON ${table(physical)} (${fields.map(fieldExpr).join(', ')}, id)`);
  };
  const createIndexes = (physical: string, spec: CollectionSpec): void => {
    for (const fields of indexKeys(spec)) createIndex(physical, fields);
  };
  const register = (spec: CollectionSpec, projection: string | null, indexes: boolean): void => {
    const sql = indexes
      ? 'INSERT INTO collections (name, indexes, projection) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET indexes = excluded.indexes, projection = coalesce(excluded.projection, projection)'
      : 'INSERT INTO collections (name, indexes, projection) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET projection = coalesce(excluded.projection, projection)';
    stmt(sql).run(spec.name, JSON.stringify(spec.indexes), projection);
  };

  const ensureTx = db.transaction((list: readonly CollectionSpec[], projection: string | null) => {
    for (const spec of list) {
      register(spec, projection, true);
      const physical = resolve(spec.name, undefined);
      createTable(physical);
      createIndexes(physical, spec);
    }
  });

  /** A version above 1 only takes writes for the collections it was begun with. */
  const checkTargets = (lease: Lease, ops: readonly WriteOp[]): void => {
    if (lease.version === 1) return;
    const names = new Set((loadVersions(lease.projection).specs[String(lease.version)] ?? []).map((s) => s.name));
    for (const op of ops) {
      if (!names.has(op.collection)) throw new InvalidQuery(`version ${lease.version} of ${lease.projection} has no collection ${op.collection}`);
    }
  };

  const commitTx = db.transaction((lease: Lease, at: CommitPoint, ops: readonly WriteOp[]) => {
    fence(lease);
    const key = consumerKey(lease.projection, lease.version);
    const current = readCheckpoint(key);
    if (current !== null && comparePositions(at.position, current) <= 0) return; // already applied
    checkTargets(lease, ops);
    for (const op of ops) {
      const t = table(physicalName(op.collection, lease.version));
      if (op.kind === 'upsert') {
        stmt(`INSERT INTO ${t} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`).run(op.doc.id, JSON.stringify(op.doc));
      } else {
        stmt(`DELETE FROM ${t} WHERE id = ?`).run(op.id);
      }
    }
    stmt('INSERT INTO checkpoints (projection, position) VALUES (?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position').run(
      key,
      positionToString(at.position),
    );
  });

  const resetTx = db.transaction((lease: Lease, collections: readonly string[]) => {
    fence(lease);
    for (const name of collections) stmt(`DELETE FROM ${table(physicalName(name, lease.version))}`).run();
    stmt('DELETE FROM checkpoints WHERE projection = ?').run(consumerKey(lease.projection, lease.version));
  });

  /** Grants the lease under `key`; see acquireLease. */
  const grant = (key: string, projection: string, version: number, owner: string, ttlMs: number, now: Date): Lease | null => {
    const nowMs = now.getTime();
    const expiresAt = nowMs + ttlMs;
    const row = leaseRow(key);
    let token: number;
    if (!row) {
      token = 1;
      stmt('INSERT INTO leases (projection, owner, token, expires_at) VALUES (?, ?, ?, ?)').run(key, owner, token, expiresAt);
    } else if (row.owner === RETIRED_OWNER) {
      return null;
    } else if (row.owner === owner) {
      token = row.token; // renewal keeps the token
      stmt('UPDATE leases SET expires_at = ? WHERE projection = ?').run(expiresAt, key);
    } else if (row.owner === null || row.expires_at <= nowMs) {
      token = row.token + 1; // a new owner fences off every older token
      stmt('UPDATE leases SET owner = ?, token = ?, expires_at = ? WHERE projection = ?').run(owner, token, expiresAt, key);
    } else {
      return null;
    }
    return { projection, version, owner, token, expiresAt: new Date(expiresAt) };
  };
  const acquireTx = db.transaction(grant);

  /** Nobody can hold this lease again; whoever held it is fenced off (its token is no longer current). */
  const retire = (key: string): void => {
    const row = leaseRow(key);
    stmt(
      'INSERT INTO leases (projection, owner, token, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (projection) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at',
    ).run(key, RETIRED_OWNER, (row?.token ?? 0) + 1, NEVER);
  };

  const beginTx = db.transaction((projection: string, list: readonly CollectionSpec[], owner: string, ttlMs: number, now: Date): Lease | null => {
    const rec = loadVersions(projection);
    if (rec.building !== null) {
      const key = consumerKey(projection, rec.building);
      const row = leaseRow(key);
      if (row && row.owner !== null && row.owner !== owner && row.owner !== RETIRED_OWNER && row.expires_at > now.getTime()) return null;
      // A build abandoned by a crashed rebuild: start over.
      for (const spec of rec.specs[String(rec.building)] ?? []) db.exec(`DROP TABLE IF EXISTS ${table(physicalName(spec.name, rec.building))}`);
      delete rec.specs[String(rec.building)];
      stmt('DELETE FROM checkpoints WHERE projection = ?').run(key);
      retire(key);
    }
    const version = rec.next;
    rec.next += 1;
    rec.building = version;
    rec.specs[String(version)] = list.map(copySpec);
    rec.specs[String(rec.active)] ??= list.map(copySpec);
    saveVersions(projection, rec);
    for (const spec of list) {
      register(spec, projection, !specs.has(spec.name));
      // A collection new to this projection exists (empty) in the active version too, so queries work before the switch.
      const active = physicalName(spec.name, rec.active);
      createTable(active);
      if (!specs.has(spec.name)) createIndexes(active, spec);
      createTable(physicalName(spec.name, version));
    }
    stmt('DELETE FROM checkpoints WHERE projection = ?').run(consumerKey(projection, version));
    return grant(consumerKey(projection, version), projection, version, owner, ttlMs, now);
  });

  const promoteTx = db.transaction((lease: Lease): boolean => {
    fence(lease);
    const rec = loadVersions(lease.projection);
    if (rec.building !== lease.version) throw new InvalidQuery(`version ${lease.version} of ${lease.projection} is not being built`);
    const built = readCheckpoint(consumerKey(lease.projection, lease.version));
    const live = readCheckpoint(consumerKey(lease.projection, rec.active));
    if (live !== null && (built === null || comparePositions(built, live) < 0)) {
      // Freeze the active version: its consumer is fenced off until our lease would expire, so its checkpoint stops moving.
      const key = consumerKey(lease.projection, rec.active);
      const row = leaseRow(key);
      if (row?.owner !== lease.owner) {
        stmt(
          'INSERT INTO leases (projection, owner, token, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (projection) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at',
        ).run(key, lease.owner, (row?.token ?? 0) + 1, lease.expiresAt.getTime());
      }
      return false;
    }
    const old = rec.active;
    rec.active = lease.version;
    rec.building = null;
    rec.retired = [...rec.retired.filter((v) => v !== old), old];
    saveVersions(lease.projection, rec);
    for (const spec of rec.specs[String(lease.version)] ?? []) register(spec, lease.projection, true);
    retire(consumerKey(lease.projection, old));
    // Released, not retired: the projection's consumer takes it over and carries on from its checkpoint.
    stmt('UPDATE leases SET owner = NULL, expires_at = 0 WHERE projection = ? AND owner = ? AND token = ?').run(
      consumerKey(lease.projection, lease.version),
      lease.owner,
      lease.token,
    );
    return true;
  });

  const find = (collection: string, query: Query, version: number | undefined): Page => {
    const spec = specOf(collection);
    const q = checkQuery(spec, query);
    const { sql, params } = findSql(resolve(collection, version), q);
    const rows = stmt(sql).all(...params) as Array<{ id: string; doc: string; k: SqlValue }>;
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => JSON.parse(r.doc) as Doc),
      nextCursor: more && last ? encodeCursor({ value: last.k, id: last.id }, q.fingerprint) : null,
    };
  };
  const getDoc = (collection: string, id: string, version: number | undefined): Doc | null => {
    specOf(collection);
    const row = stmt(`SELECT doc FROM ${table(resolve(collection, version))} WHERE id = ?`).get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Doc) : null;
  };
  // Resolving the version and reading it share one read transaction (one snapshot).
  const findTx = db.transaction(find);
  const getTx = db.transaction(getDoc);

  return {
    atomicCommit: true,
    async ensureCollections(list, projection) {
      list.forEach(checkSpec);
      ensureTx.immediate(list, projection ?? null);
      for (const spec of list) specs.set(spec.name, copySpec(spec));
    },
    async get(collection, id, version) {
      // A named version is only read by the one process building or consuming it: no snapshot needed.
      return version === undefined ? getTx(collection, id, undefined) : getDoc(collection, id, version);
    },
    async find(collection, query, version) {
      return version === undefined ? findTx(collection, query, undefined) : find(collection, query, version);
    },
    async commit(lease, at, ops) {
      for (const op of ops) {
        specOf(op.collection);
        checkOp(op);
      }
      commitTx.immediate(lease, at, coalesceOps(ops));
    },
    async checkpoint(projection, version) {
      return readCheckpoint(consumerKey(projection, version === undefined ? activeVersion(projection) : checkVersion(version)));
    },
    async acquireLease(projection, owner, ttlMs, now, version = 1) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      return acquireTx.immediate(consumerKey(projection, checkVersion(version)), projection, version, owner, Math.ceil(ttlMs), now);
    },
    async releaseLease(lease) {
      // Keeps the token, so whoever acquires next still gets a higher one.
      stmt('UPDATE leases SET owner = NULL, expires_at = 0 WHERE projection = ? AND owner = ? AND token = ?').run(
        consumerKey(lease.projection, lease.version),
        lease.owner,
        lease.token,
      );
    },
    async reset(lease, collections) {
      collections.forEach(specOf);
      resetTx.immediate(lease, collections);
    },
    async versions(projection) {
      const { active, building } = loadVersions(projection);
      return { active, building };
    },
    async beginVersion(projection, list, owner, ttlMs, now) {
      list.forEach(checkSpec);
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      const lease = beginTx.immediate(projection, list, owner, Math.ceil(ttlMs), now);
      for (const spec of list) if (!specs.has(spec.name)) specs.set(spec.name, copySpec(spec));
      return lease;
    },
    async indexVersion(lease) {
      const list = loadVersions(lease.projection).specs[String(lease.version)] ?? [];
      for (const spec of list) {
        for (const fields of indexKeys(spec)) {
          // One index per transaction: the write lock is held for one index build at a time.
          db.transaction(() => {
            fence(lease);
            createIndex(physicalName(spec.name, lease.version), fields);
          }).immediate();
          await turn();
        }
      }
    },
    async promote(lease) {
      const promoted = promoteTx.immediate(lease);
      if (promoted) loadSpecs();
      return promoted;
    },
    async dropRetired(projection) {
      const rec = loadVersions(projection);
      for (const version of rec.retired) {
        for (const spec of rec.specs[String(version)] ?? []) {
          const physical = physicalName(spec.name, version);
          for (const fields of indexKeys(spec)) db.exec(`DROP INDEX IF EXISTS ${indexName(physical, fields)}`);
          const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(`c_${physical}`);
          if (!exists) continue;
          // In chunks, so the service's own commits wait for one short statement at a time.
          const chunk = db.prepare(`DELETE FROM ${table(physical)} WHERE rowid IN (SELECT rowid FROM ${table(physical)} LIMIT ${DROP_CHUNK})`);
          while (chunk.run().changes > 0) await turn();
          db.exec(`DROP TABLE IF EXISTS ${table(physical)}`);
        }
        db.transaction(() => {
          stmt('DELETE FROM checkpoints WHERE projection = ?').run(consumerKey(projection, version));
          const now = loadVersions(projection);
          now.retired = now.retired.filter((v) => v !== version);
          delete now.specs[String(version)];
          saveVersions(projection, now);
        }).immediate();
      }
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
function findSql(physical: string, q: CheckedQuery): { sql: string; params: SqlValue[] } {
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
  const sql = `SELECT id, doc, ${k} AS k FROM ${table(physical)}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${k} ${dir}, id ${dir} LIMIT ?`;
  params.push(q.limit + 1);
  return { sql, params };
}

/**
 * The MongoDB read store. Each read-model document is stored as `{ _id: id, d: doc, _v?: markers }`
 * in a collection of the same name; `leases`, `checkpoints` and `collections` hold the bookkeeping.
 * See docs/read-store.md for the lease and fencing design.
 *
 * Invariants:
 * - on a replica set or mongos (`hello` answers `setName` or `msg: 'isdbgrid'`), `commit` is one
 *   transaction: fencing write on the lease, checkpoint check, writes, checkpoint;
 * - on a standalone server, `commit` is a sequence of single-document writes, each applied at most
 *   once per (streamId, revision): documents carry `_v.<streamId> = revision` and a write only lands
 *   where that marker is missing or lower; a delete leaves a tombstone (no `d`, markers kept) so a
 *   replayed older upsert cannot resurrect the document; the checkpoint only moves forward;
 * - in both modes a commit at or before the stored checkpoint is a no-op, and a commit whose lease
 *   token is no longer current is refused with LeaseLost before it writes anything;
 * - lease tokens only grow; the lease document is never deleted (deleting it would restart tokens at 1);
 * - versions: each projection's versions are ONE document in `versions`, so a promotion's switch is a
 *   single atomic write even on a standalone. Version N > 1 of a collection is the collection
 *   `<name>__v<N>`. Readers resolve a collection's active version through a per-process cache of
 *   VERSION_CACHE_MS, so for that long after a promotion a reader may still read the old version,
 *   which is complete (only stale); `dropRetired` therefore waits DROP_GRACE_MS before dropping it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, MongoServerError, type ClientSession, type Collection, type Filter, type UpdateFilter } from 'mongodb';
import { parsePosition, positionToString, type Position } from '../event-store.ts';
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

type StoredDoc = { _id: string; d?: Doc; _v?: Record<string, number> };
type LeaseDoc = { _id: string; owner: string | null; token: number; expiresAt: Date; commits?: number };
/** `key` is the position as two zero-padded 20-digit numbers, so string order is position order. */
type CheckpointDoc = { _id: string; position: string; key: string };
type CollectionDoc = { _id: string; indexes: string[]; projection?: string };
type VersionsDoc = VersionsRecord & { _id: string };

/** How long a reader trusts its idea of a collection's active version (and indexes). */
const VERSION_CACHE_MS = 1000;
/** How long dropRetired waits after a promotion before dropping: every reader has looked again by then. */
const DROP_GRACE_MS = 3 * VERSION_CACHE_MS;
/** A retired lease never expires. */
const NEVER = new Date(8_640_000_000_000_000);

const DUPLICATE_KEY = 11000;
const isDuplicateKey = (e: unknown): boolean => e instanceof MongoServerError && e.code === DUPLICATE_KEY;

const U64_DIGITS = 20;
export const positionKey = (p: Position): string => {
  if (p.commit < 0n || p.prepare < 0n || p.commit >= 10n ** 20n || p.prepare >= 10n ** 20n) throw new RangeError('position out of range');
  return `${p.commit.toString().padStart(U64_DIGITS, '0')}/${p.prepare.toString().padStart(U64_DIGITS, '0')}`;
};

/** A stream id as a field name: no '.', no leading '$', reversible. */
const markerField = (streamId: string): string => `_v.${streamId.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24')}`;

const dataPath = (field: string): string => `d.${field}`;

const getPath = (doc: Doc, path: string): Scalar => {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v === undefined || (typeof v === 'object' && v !== null) ? null : (v as Scalar);
};

/** Read models hold JSON: a round trip makes MongoDB return what SQLite returns (no Dates, no undefined). */
const asJson = (doc: Doc): Doc => JSON.parse(JSON.stringify(doc)) as Doc;

export async function openMongoReadStore(url: string, dbName = 'tvpay_read'): Promise<ReadStore> {
  const client = new MongoClient(url, { appName: 'tvpay-ledger-read-store' });
  await client.connect();
  try {
    const db = client.db(dbName);
    const hello = await db.admin().command({ hello: 1 });
    const transactional = typeof hello['setName'] === 'string' || hello['msg'] === 'isdbgrid';
    return makeStore(client, dbName, transactional);
  } catch (e) {
    await client.close();
    throw e;
  }
}

function makeStore(client: MongoClient, dbName: string, transactional: boolean): ReadStore {
  const db = client.db(dbName);
  const leases = db.collection<LeaseDoc>('leases');
  const checkpoints = db.collection<CheckpointDoc>('checkpoints');
  const registry = db.collection<CollectionDoc>('collections');
  const versionsOf = db.collection<VersionsDoc>('versions');
  const docs = (physical: string): Collection<StoredDoc> => db.collection<StoredDoc>(physical);
  const opts = (session?: ClientSession) => (session ? { session } : {});

  /** Per collection: its spec and active version, as of `at` (see VERSION_CACHE_MS). */
  const resolved = new Map<string, { spec: CollectionSpec; version: number; at: number }>();
  /** The collections of each begun version (projection@version); a version's set never changes. */
  const versionSpecs = new Map<string, ReadonlySet<string>>();

  const loadVersions = async (projection: string, session?: ClientSession): Promise<VersionsRecord> => {
    const found = await versionsOf.findOne({ _id: projection }, opts(session));
    if (!found) return noVersions();
    const { _id: _ignored, ...rec } = found;
    return rec;
  };

  const resolve = async (collection: string): Promise<{ spec: CollectionSpec; version: number }> => {
    const cached = resolved.get(collection);
    if (cached && Date.now() - cached.at < VERSION_CACHE_MS) return cached;
    const stored = typeof collection === 'string' ? await registry.findOne({ _id: collection }) : null;
    if (!stored) throw new InvalidQuery(`unknown collection ${JSON.stringify(collection).slice(0, 80)}: call ensureCollections first`);
    const version = stored.projection === undefined ? 1 : (await loadVersions(stored.projection)).active;
    const entry = { spec: { name: stored._id, indexes: stored.indexes }, version, at: Date.now() };
    resolved.set(collection, entry);
    return entry;
  };
  const specOf = async (collection: string): Promise<CollectionSpec> => (await resolve(collection)).spec;
  const physicalOf = async (collection: string, version: number | undefined): Promise<string> => {
    const r = await resolve(collection);
    return physicalName(collection, version === undefined ? r.version : checkVersion(version));
  };

  /** The fencing write: matches only the current lease; in a transaction it also conflicts with a concurrent takeover. */
  const fence = async (lease: Lease, session?: ClientSession): Promise<void> => {
    const res = await leases.updateOne(
      { _id: consumerKey(lease.projection, lease.version), owner: lease.owner, token: lease.token },
      { $inc: { commits: 1 } },
      opts(session),
    );
    if (res.matchedCount === 0) throw new LeaseLost(lease.projection, lease.token);
  };

  const checkpointKey = async (key: string, session?: ClientSession): Promise<string | null> =>
    (await checkpoints.findOne({ _id: key }, opts(session)))?.key ?? null;

  const alreadyApplied = async (key: string, positionKey: string, session?: ClientSession): Promise<boolean> => {
    const stored = await checkpointKey(key, session);
    return stored !== null && stored >= positionKey;
  };

  /** A version above 1 only takes writes for the collections it was begun with. */
  const checkTargets = async (lease: Lease, ops: readonly WriteOp[]): Promise<void> => {
    if (lease.version === 1) return;
    const id = consumerKey(lease.projection, lease.version);
    let names = versionSpecs.get(id);
    if (!names) {
      names = new Set(((await loadVersions(lease.projection)).specs[String(lease.version)] ?? []).map((spec) => spec.name));
      versionSpecs.set(id, names);
    }
    for (const op of ops) {
      if (!names.has(op.collection)) throw new InvalidQuery(`version ${lease.version} of ${lease.projection} has no collection ${op.collection}`);
    }
  };

  const commitInTransaction = async (lease: Lease, at: CommitPoint, ops: readonly WriteOp[], key: string): Promise<void> => {
    const session = client.startSession();
    const cp = consumerKey(lease.projection, lease.version);
    try {
      await session.withTransaction(async () => {
        await fence(lease, session);
        if (await alreadyApplied(cp, key, session)) return;
        for (const op of ops) {
          const target = docs(physicalName(op.collection, lease.version));
          if (op.kind === 'upsert') {
            await target.replaceOne({ _id: op.doc.id }, { d: asJson(op.doc) }, { upsert: true, session });
          } else {
            await target.deleteOne({ _id: op.id }, { session });
          }
        }
        await checkpoints.replaceOne({ _id: cp }, { position: positionToString(at.position), key }, { upsert: true, session });
      });
    } finally {
      await session.endSession();
    }
  };

  /** Without transactions: every step is idempotent, so a crash between steps is repaired by replaying the event. */
  const commitIdempotently = async (lease: Lease, at: CommitPoint, ops: readonly WriteOp[], key: string): Promise<void> => {
    const cp = consumerKey(lease.projection, lease.version);
    await fence(lease);
    if (await alreadyApplied(cp, key)) return;
    const marker = markerField(at.streamId);
    for (const op of ops) {
      const id = op.kind === 'upsert' ? op.doc.id : op.id;
      const notYetApplied: Filter<StoredDoc> = { _id: id, $or: [{ [marker]: { $exists: false } }, { [marker]: { $lt: at.revision } }] };
      const update: UpdateFilter<StoredDoc> =
        op.kind === 'upsert' ? { $set: { d: asJson(op.doc), [marker]: at.revision } } : { $set: { [marker]: at.revision }, $unset: { d: '' } };
      try {
        await docs(physicalName(op.collection, lease.version)).updateOne(notYetApplied, update, { upsert: true });
      } catch (e) {
        // The document exists with this revision or a newer one: the upsert's insert collides on _id.
        if (!isDuplicateKey(e)) throw e;
      }
    }
    try {
      await checkpoints.updateOne({ _id: cp, key: { $lt: key } }, { $set: { position: positionToString(at.position), key } }, { upsert: true });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e; // the checkpoint is already at or past this position
    }
  };

  const find = async (collection: string, query: Query, version?: number): Promise<Page> => {
    const q = checkQuery(await specOf(collection), query);
    const rows = await docs(await physicalOf(collection, version))
      .find(findFilter(q))
      .sort(sortSpec(q))
      .limit(q.limit + 1)
      .toArray();
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).flatMap((r) => (r.d ? [r.d] : []));
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: more && last ? encodeCursor({ value: getPath(last, q.orderBy.field), id: last.id }, q.fingerprint) : null,
    };
  };

  const createIndexes = async (physical: string, spec: CollectionSpec): Promise<void> => {
    const keys = indexKeys(spec);
    if (keys.length === 0) return;
    await docs(physical).createIndexes(
      keys.map((fields) => ({ key: { ...Object.fromEntries(fields.map((f) => [dataPath(f), 1])), _id: 1 }, name: `${fields.join('+')}_id` })),
    );
  };

  const register = async (spec: CollectionSpec, projection: string | undefined, indexes: boolean, session?: ClientSession): Promise<void> => {
    await registry.updateOne(
      { _id: spec.name },
      indexes
        ? { $set: { indexes: [...spec.indexes], ...(projection !== undefined && { projection }) } }
        : { $set: { ...(projection !== undefined && { projection }) }, $setOnInsert: { indexes: [...spec.indexes] } },
      { upsert: true, ...opts(session) },
    );
    resolved.delete(spec.name);
  };

  /** Grants the lease under `key` (see ReadStore.acquireLease). */
  const grant = async (key: string, projection: string, version: number, owner: string, ttlMs: number, now: Date): Promise<Lease | null> => {
    const expiresAt = new Date(now.getTime() + Math.ceil(ttlMs));
    const toLease = (d: LeaseDoc | null): Lease | null =>
      d && d.owner === owner ? { projection, version, owner, token: d.token, expiresAt: d.expiresAt } : null;
    // 1. renewal keeps the token
    const renewed = await leases.findOneAndUpdate({ _id: key, owner }, { $set: { expiresAt } }, { returnDocument: 'after' });
    if (renewed) return toLease(renewed);
    // 2. a free or expired lease (or none yet) goes to a new owner with the next token; a retired one never expires
    try {
      const taken = await leases.findOneAndUpdate(
        { _id: key, $or: [{ owner: null }, { expiresAt: { $lte: now } }] },
        { $set: { owner, expiresAt }, $inc: { token: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return toLease(taken);
    } catch (e) {
      if (isDuplicateKey(e)) return null; // held by another owner and still valid
      throw e;
    }
  };

  /** Nobody can hold this lease again; whoever held it is fenced off (its token is no longer current). */
  const retire = async (key: string, session?: ClientSession): Promise<void> => {
    await leases.updateOne({ _id: key }, { $set: { owner: RETIRED_OWNER, expiresAt: NEVER }, $inc: { token: 1 } }, { upsert: true, ...opts(session) });
  };

  const dropVersion = async (specs: readonly CollectionSpec[], version: number): Promise<void> => {
    for (const spec of specs) await docs(physicalName(spec.name, version)).drop();
  };

  /** The switch itself, and what goes with it; `session` when the deployment has transactions. */
  const switchTo = async (lease: Lease, session?: ClientSession): Promise<boolean> => {
    const rec = await loadVersions(lease.projection, session);
    if (rec.building !== lease.version) throw new InvalidQuery(`version ${lease.version} of ${lease.projection} is not being built`);
    const built = await checkpointKey(consumerKey(lease.projection, lease.version), session);
    const live = await checkpointKey(consumerKey(lease.projection, rec.active), session);
    if (live !== null && (built === null || built < live)) {
      // Freeze the active version: its consumer is fenced off until our lease would expire, so its checkpoint stops moving.
      await leases.updateOne(
        { _id: consumerKey(lease.projection, rec.active), owner: { $nin: [lease.owner, RETIRED_OWNER] } },
        { $set: { owner: lease.owner, expiresAt: lease.expiresAt }, $inc: { token: 1 } },
        opts(session),
      );
      return false;
    }
    const old = rec.active;
    const next: VersionsRecord = { ...rec, active: lease.version, building: null, retired: [...rec.retired.filter((v) => v !== old), old] };
    // The switch: one document, conditional on nobody having changed it since we read it.
    const switched = await versionsOf.updateOne({ _id: lease.projection, active: old, building: lease.version }, { $set: next }, opts(session));
    if (switched.matchedCount === 0) return false;
    for (const spec of rec.specs[String(lease.version)] ?? []) await register(spec, lease.projection, true, session);
    await retire(consumerKey(lease.projection, old), session);
    // Released, not retired: the projection's consumer takes it over and carries on from its checkpoint.
    await leases.updateOne(
      { _id: consumerKey(lease.projection, lease.version), owner: lease.owner, token: lease.token },
      { $set: { owner: null, expiresAt: new Date(0) } },
      opts(session),
    );
    return true;
  };

  return {
    atomicCommit: transactional,
    async ensureCollections(list, projection) {
      list.forEach(checkSpec);
      for (const spec of list) {
        await register(spec, projection, true);
        await createIndexes(await physicalOf(spec.name, undefined), spec);
      }
    },
    async get(collection, id, version) {
      const row = await docs(await physicalOf(collection, version)).findOne({ _id: id, d: { $exists: true } });
      return row?.d ?? null;
    },
    find,
    async commit(lease, at, ops) {
      for (const op of ops) {
        await specOf(op.collection);
        checkOp(op);
      }
      await checkTargets(lease, ops);
      const key = positionKey(at.position);
      const coalesced = coalesceOps(ops);
      if (transactional) await commitInTransaction(lease, at, coalesced, key);
      else await commitIdempotently(lease, at, coalesced, key);
    },
    async checkpoint(projection, version) {
      const v = version === undefined ? (await loadVersions(projection)).active : checkVersion(version);
      const cp = await checkpoints.findOne({ _id: consumerKey(projection, v) });
      return cp ? parsePosition(cp.position) : null;
    },
    async acquireLease(projection, owner, ttlMs, now, version = 1) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      return grant(consumerKey(projection, checkVersion(version)), projection, version, owner, ttlMs, now);
    },
    async releaseLease(lease) {
      // Keeps the document and its token, so whoever acquires next gets a higher one.
      await leases.updateOne(
        { _id: consumerKey(lease.projection, lease.version), owner: lease.owner, token: lease.token },
        { $set: { owner: null, expiresAt: new Date(0) } },
      );
    },
    async reset(lease, collections) {
      for (const name of collections) await specOf(name);
      await fence(lease);
      // Checkpoint first: a crash midway leaves "rebuild from the start", never "resume over missing documents".
      await checkpoints.deleteOne({ _id: consumerKey(lease.projection, lease.version) });
      for (const name of collections) await docs(physicalName(name, lease.version)).deleteMany({});
    },
    async versions(projection) {
      const { active, building } = await loadVersions(projection);
      return { active, building };
    },
    async beginVersion(projection, list, owner, ttlMs, now) {
      list.forEach(checkSpec);
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      const rec = await loadVersions(projection);
      const taken = rec.next;
      if (rec.building !== null) {
        const key = consumerKey(projection, rec.building);
        const held = await leases.findOne({ _id: key });
        if (held && held.owner !== null && held.owner !== owner && held.owner !== RETIRED_OWNER && held.expiresAt > now) return null;
        // A build abandoned by a crashed rebuild: start over.
        await retire(key);
        await dropVersion(rec.specs[String(rec.building)] ?? [], rec.building);
        await checkpoints.deleteOne({ _id: key });
        delete rec.specs[String(rec.building)];
      }
      const version = rec.next;
      const copy = list.map(copySpec);
      const next: VersionsRecord = {
        ...rec,
        building: version,
        next: version + 1,
        specs: { ...rec.specs, [String(version)]: copy, [String(rec.active)]: rec.specs[String(rec.active)] ?? copy },
      };
      try {
        // Conditional on `next`: of two rebuilds beginning at once, one wins.
        const res = await versionsOf.updateOne({ _id: projection, next: taken }, { $set: next }, { upsert: true });
        if (res.matchedCount === 0 && res.upsertedCount === 0) return null;
      } catch (e) {
        if (isDuplicateKey(e)) return null;
        throw e;
      }
      for (const spec of list) {
        const known = await registry.findOne({ _id: spec.name });
        await register(spec, projection, known === null);
        // A collection new to this projection exists (empty) in the active version too, so queries work before the switch.
        if (known === null) await createIndexes(physicalName(spec.name, rec.active), spec);
      }
      await checkpoints.deleteOne({ _id: consumerKey(projection, version) });
      return grant(consumerKey(projection, version), projection, version, owner, ttlMs, now);
    },
    async indexVersion(lease) {
      await fence(lease);
      for (const spec of (await loadVersions(lease.projection)).specs[String(lease.version)] ?? []) {
        await createIndexes(physicalName(spec.name, lease.version), spec);
      }
    },
    async promote(lease) {
      if (!transactional) {
        await fence(lease);
        return switchTo(lease);
      }
      const session = client.startSession();
      try {
        let promoted = false;
        await session.withTransaction(async () => {
          await fence(lease, session);
          promoted = await switchTo(lease, session);
        });
        return promoted;
      } finally {
        await session.endSession();
      }
    },
    async dropRetired(projection) {
      if ((await loadVersions(projection)).retired.length === 0) return;
      await sleep(DROP_GRACE_MS);
      const rec = await loadVersions(projection);
      for (const version of rec.retired) {
        await dropVersion(rec.specs[String(version)] ?? [], version);
        await checkpoints.deleteOne({ _id: consumerKey(projection, version) });
      }
      const specs = { ...rec.specs };
      for (const version of rec.retired) delete specs[String(version)];
      await versionsOf.updateOne({ _id: projection, active: rec.active }, { $set: { retired: [], specs } });
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * Keyset pagination on (d.<field>, _id). MongoDB sorts null and missing lowest, compares only
 * values of the same type ($gt: 5 never matches a string), so a null sort value needs its own branch.
 */
function findFilter(q: CheckedQuery): Filter<StoredDoc> {
  const and: Array<Filter<StoredDoc>> = [{ d: { $exists: true } }];
  for (const [field, value] of q.where) and.push({ [dataPath(field)]: value });
  if (q.range) {
    const bounds: Record<string, string | number> = {};
    if (q.range.gte !== undefined) bounds['$gte'] = q.range.gte;
    if (q.range.lt !== undefined) bounds['$lt'] = q.range.lt;
    and.push({ [dataPath(q.range.field)]: bounds });
  }
  if (q.after) {
    const f = dataPath(q.orderBy.field);
    const { value, id } = q.after;
    const asc = q.orderBy.direction === 'asc';
    if (value === null) {
      and.push(asc ? { $or: [{ [f]: null, _id: { $gt: id } }, { [f]: { $ne: null } }] } : { [f]: null, _id: { $lt: id } });
    } else {
      and.push(
        asc
          ? { $or: [{ [f]: { $gt: value } }, { [f]: value, _id: { $gt: id } }] }
          : { $or: [{ [f]: { $lt: value } }, { [f]: value, _id: { $lt: id } }, { [f]: null }] },
      );
    }
  }
  return { $and: and };
}

function sortSpec(q: CheckedQuery): Record<string, 1 | -1> {
  const dir = q.orderBy.direction === 'asc' ? 1 : -1;
  return { [dataPath(q.orderBy.field)]: dir, _id: dir };
}

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
 * - lease tokens only grow; the lease document is never deleted (deleting it would restart tokens at 1).
 */
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
import { checkOp, checkQuery, checkSpec, coalesceOps, encodeCursor, type CheckedQuery } from '../read-query.ts';

type StoredDoc = { _id: string; d?: Doc; _v?: Record<string, number> };
type LeaseDoc = { _id: string; owner: string | null; token: number; expiresAt: Date; commits?: number };
/** `key` is the position as two zero-padded 20-digit numbers, so string order is position order. */
type CheckpointDoc = { _id: string; position: string; key: string };
type CollectionDoc = { _id: string; indexes: string[] };

const DUPLICATE_KEY = 11000;
const isDuplicateKey = (e: unknown): boolean => e instanceof MongoServerError && e.code === DUPLICATE_KEY;

const U64_DIGITS = 20;
export const positionKey = (p: Position): string => {
  if (p.commit < 0n || p.prepare < 0n || p.commit >= 10n ** 20n || p.prepare >= 10n ** 20n) throw new RangeError('position out of range');
  return `${p.commit.toString().padStart(U64_DIGITS, '0')}/${p.prepare.toString().padStart(U64_DIGITS, '0')}`;
};

/** A stream id as a field name: no '.', no leading '$', reversible. */
const markerField = (streamId: string): string =>
  `_v.${streamId.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24')}`;

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
  const specs = new Map<string, CollectionSpec>();
  const docs = (name: string): Collection<StoredDoc> => db.collection<StoredDoc>(name);

  const specOf = async (collection: string): Promise<CollectionSpec> => {
    const known = specs.get(collection);
    if (known) return known;
    const stored = typeof collection === 'string' ? await registry.findOne({ _id: collection }) : null;
    if (!stored) throw new InvalidQuery(`unknown collection ${JSON.stringify(collection).slice(0, 80)}: call ensureCollections first`);
    const spec = { name: stored._id, indexes: stored.indexes };
    specs.set(collection, spec);
    return spec;
  };

  /** The fencing write: matches only the current lease; in a transaction it also conflicts with a concurrent takeover. */
  const fence = async (lease: Lease, session?: ClientSession): Promise<void> => {
    const res = await leases.updateOne(
      { _id: lease.projection, owner: lease.owner, token: lease.token },
      { $inc: { commits: 1 } },
      session ? { session } : {},
    );
    if (res.matchedCount === 0) throw new LeaseLost(lease.projection, lease.token);
  };

  const alreadyApplied = async (projection: string, key: string, session?: ClientSession): Promise<boolean> => {
    const cp = await checkpoints.findOne({ _id: projection }, session ? { session } : {});
    return cp !== null && cp.key >= key;
  };

  const commitInTransaction = async (lease: Lease, at: CommitPoint, ops: readonly WriteOp[], key: string): Promise<void> => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await fence(lease, session);
        if (await alreadyApplied(lease.projection, key, session)) return;
        for (const op of ops) {
          if (op.kind === 'upsert') {
            await docs(op.collection).replaceOne({ _id: op.doc.id }, { d: asJson(op.doc) }, { upsert: true, session });
          } else {
            await docs(op.collection).deleteOne({ _id: op.id }, { session });
          }
        }
        await checkpoints.replaceOne(
          { _id: lease.projection },
          { position: positionToString(at.position), key },
          { upsert: true, session },
        );
      });
    } finally {
      await session.endSession();
    }
  };

  /** Without transactions: every step is idempotent, so a crash between steps is repaired by replaying the event. */
  const commitIdempotently = async (lease: Lease, at: CommitPoint, ops: readonly WriteOp[], key: string): Promise<void> => {
    await fence(lease);
    if (await alreadyApplied(lease.projection, key)) return;
    const marker = markerField(at.streamId);
    for (const op of ops) {
      const id = op.kind === 'upsert' ? op.doc.id : op.id;
      const notYetApplied: Filter<StoredDoc> = { _id: id, $or: [{ [marker]: { $exists: false } }, { [marker]: { $lt: at.revision } }] };
      const update: UpdateFilter<StoredDoc> =
        op.kind === 'upsert'
          ? { $set: { d: asJson(op.doc), [marker]: at.revision } }
          : { $set: { [marker]: at.revision }, $unset: { d: '' } };
      try {
        await docs(op.collection).updateOne(notYetApplied, update, { upsert: true });
      } catch (e) {
        // The document exists with this revision or a newer one: the upsert's insert collides on _id.
        if (!isDuplicateKey(e)) throw e;
      }
    }
    try {
      await checkpoints.updateOne(
        { _id: lease.projection, key: { $lt: key } },
        { $set: { position: positionToString(at.position), key } },
        { upsert: true },
      );
    } catch (e) {
      if (!isDuplicateKey(e)) throw e; // the checkpoint is already at or past this position
    }
  };

  const find = async (collection: string, query: Query): Promise<Page> => {
    const q = checkQuery(await specOf(collection), query);
    const rows = await docs(collection)
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

  return {
    async ensureCollections(list) {
      list.forEach(checkSpec);
      for (const spec of list) {
        if (spec.indexes.length > 0) {
          await docs(spec.name).createIndexes(
            spec.indexes.map((field) => ({ key: { [dataPath(field)]: 1, _id: 1 }, name: `${field}_id` })),
          );
        }
        await registry.updateOne({ _id: spec.name }, { $set: { indexes: [...spec.indexes] } }, { upsert: true });
        specs.set(spec.name, { name: spec.name, indexes: [...spec.indexes] });
      }
    },
    async get(collection, id) {
      await specOf(collection);
      const row = await docs(collection).findOne({ _id: id, d: { $exists: true } });
      return row?.d ?? null;
    },
    find,
    async commit(lease, at, ops) {
      for (const op of ops) {
        await specOf(op.collection);
        checkOp(op);
      }
      const key = positionKey(at.position);
      const coalesced = coalesceOps(ops);
      if (transactional) await commitInTransaction(lease, at, coalesced, key);
      else await commitIdempotently(lease, at, coalesced, key);
    },
    async checkpoint(projection) {
      const cp = await checkpoints.findOne({ _id: projection });
      return cp ? parsePosition(cp.position) : null;
    },
    async acquireLease(projection, owner, ttlMs, now) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('ttlMs must be a positive number');
      const expiresAt = new Date(now.getTime() + Math.ceil(ttlMs));
      const toLease = (d: LeaseDoc | null): Lease | null =>
        d && d.owner === owner ? { projection, owner, token: d.token, expiresAt: d.expiresAt } : null;
      // 1. renewal keeps the token
      const renewed = await leases.findOneAndUpdate({ _id: projection, owner }, { $set: { expiresAt } }, { returnDocument: 'after' });
      if (renewed) return toLease(renewed);
      // 2. a free or expired lease (or none yet) goes to a new owner with the next token
      try {
        const taken = await leases.findOneAndUpdate(
          { _id: projection, $or: [{ owner: null }, { expiresAt: { $lte: now } }] },
          { $set: { owner, expiresAt }, $inc: { token: 1 } },
          { upsert: true, returnDocument: 'after' },
        );
        return toLease(taken);
      } catch (e) {
        if (isDuplicateKey(e)) return null; // held by another owner and still valid
        throw e;
      }
    },
    async releaseLease(lease) {
      // Keeps the document and its token, so whoever acquires next gets a higher one.
      await leases.updateOne(
        { _id: lease.projection, owner: lease.owner, token: lease.token },
        { $set: { owner: null, expiresAt: new Date(0) } },
      );
    },
    async reset(lease, collections) {
      for (const name of collections) await specOf(name);
      await fence(lease);
      // Checkpoint first: a crash midway leaves "rebuild from the start", never "resume over missing documents".
      await checkpoints.deleteOne({ _id: lease.projection });
      for (const name of collections) await docs(name).deleteMany({});
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

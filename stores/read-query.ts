/**
 * Query checks and the cursor codec shared by the read store adapters (SQLite and MongoDB), so
 * both refuse the same queries with InvalidQuery and page the same way.
 *
 * Invariants:
 * - collection names match COLLECTION_NAME and are not reserved: they become table/collection names;
 * - field paths match FIELD_PATH: they are spliced into SQL JSON paths and MongoDB dotted paths;
 * - a query only filters and sorts on fields its collection declared as indexed;
 * - a cursor is opaque (base64url of [sortValue, id, fingerprint]) and is accepted only by a query
 *   with the same collection, where, range and orderBy (the fingerprint); anything else is InvalidQuery.
 */
import { createHash } from 'node:crypto';
import { InvalidQuery, type CollectionSpec, type Query, type Scalar, type WriteOp } from './read-store.ts';

export const COLLECTION_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
export const FIELD_PATH = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*){0,7}$/;
/** Names the adapters use for their own bookkeeping. */
export const RESERVED_COLLECTIONS: ReadonlySet<string> = new Set(['leases', 'checkpoints', 'collections', 'versions']);
export const MAX_LIMIT = 1000;

/** `__` is kept for version suffixes (physicalName), so no collection name can collide with another's version. */
export const checkCollectionName = (name: string): void => {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name) || name.includes('__') || RESERVED_COLLECTIONS.has(name.toLowerCase())) {
    throw new InvalidQuery(`invalid collection name: ${JSON.stringify(name).slice(0, 80)}`);
  }
};

/* ------------------------------------------------------------------ versions */

/** Where a version of a collection is stored: version 1 under the collection's own name (as before versions existed). */
export const physicalName = (collection: string, version: number): string => (version === 1 ? collection : `${collection}__v${version}`);

/** The checkpoint and lease key of a projection's version: version 1 keeps the projection's own name. */
export const consumerKey = (projection: string, version: number): string => (version === 1 ? projection : `${projection}@${version}`);

/** The owner of a retired version's lease: nobody can acquire it again, and its old holder's commits are refused. */
export const RETIRED_OWNER = '(retired)';

export const checkVersion = (version: number): number => {
  if (!Number.isSafeInteger(version) || version < 1) throw new InvalidQuery(`invalid version ${String(version)}`);
  return version;
};

/**
 * One projection's versions, as both adapters store them (one row / one document per projection, so a
 * switch is a single atomic write even without transactions). `specs` holds the collections of every
 * version that still exists; `next` is the number the next build gets (numbers are never reused).
 */
export type VersionsRecord = {
  active: number;
  building: number | null;
  retired: number[];
  next: number;
  specs: Record<string, CollectionSpec[]>;
};

export const noVersions = (): VersionsRecord => ({ active: 1, building: null, retired: [], next: 2, specs: {} });

export const checkSpec = (spec: CollectionSpec): void => {
  checkCollectionName(spec.name);
  for (const field of spec.indexes) {
    if (!FIELD_PATH.test(field)) throw new InvalidQuery(`collection ${spec.name}: invalid field path ${JSON.stringify(field).slice(0, 80)}`);
  }
  for (const fields of spec.compound ?? []) {
    if (fields.length < 2 || fields.some((f) => !spec.indexes.includes(f))) {
      throw new InvalidQuery(`collection ${spec.name}: a compound index names two or more of its indexed fields`);
    }
  }
};

/**
 * Every index of a collection, as its list of fields (the document id comes last in each). A field that
 * leads a compound index gets no index of its own: the compound one serves its queries too.
 */
export const indexKeys = (spec: CollectionSpec): string[][] => {
  const compound = (spec.compound ?? []).map((fields) => [...fields]);
  const leading = new Set(compound.map((fields) => fields[0]));
  return [...spec.indexes.filter((f) => !leading.has(f)).map((f) => [f]), ...compound];
};

/** A spec as stored in a versions record: plain arrays. */
export const copySpec = (spec: CollectionSpec): CollectionSpec => ({
  name: spec.name,
  indexes: [...spec.indexes],
  ...(spec.compound && spec.compound.length > 0 && { compound: spec.compound.map((fields) => [...fields]) }),
});

/** A sort key position: the sort field's value and the id of the last item of a page. */
export type After = { value: Scalar; id: string };

export type CheckedQuery = {
  where: Array<[field: string, value: Scalar]>;
  range: { field: string; gte?: string | number; lt?: string | number } | null;
  orderBy: { field: string; direction: 'asc' | 'desc' };
  limit: number;
  after: After | null;
  fingerprint: string;
};

const isScalar = (v: unknown): v is Scalar => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

const isBound = (v: unknown): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Validates a query against its collection's indexed fields; throws InvalidQuery. */
export const checkQuery = (spec: CollectionSpec, query: Query): CheckedQuery => {
  const indexed = new Set(spec.indexes);
  const needIndexed = (field: unknown, role: string): string => {
    if (typeof field !== 'string' || !indexed.has(field)) {
      throw new InvalidQuery(`collection ${spec.name}: ${role} field ${JSON.stringify(field)} is not indexed`);
    }
    return field;
  };
  const where: Array<[string, Scalar]> = Object.entries(query.where ?? {})
    .map(([field, value]): [string, Scalar] => {
      needIndexed(field, 'where');
      if (!isScalar(value)) throw new InvalidQuery(`collection ${spec.name}: where.${field} is not a scalar`);
      return [field, value];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let range: CheckedQuery['range'] = null;
  if (query.range !== undefined) {
    const { field, gte, lt } = query.range;
    needIndexed(field, 'range');
    if (gte === undefined && lt === undefined) throw new InvalidQuery(`collection ${spec.name}: range needs gte or lt`);
    if ((gte !== undefined && !isBound(gte)) || (lt !== undefined && !isBound(lt))) {
      throw new InvalidQuery(`collection ${spec.name}: range bounds must be strings or finite numbers`);
    }
    range = { field, ...(gte !== undefined ? { gte } : {}), ...(lt !== undefined ? { lt } : {}) };
  }
  const orderField = needIndexed(query.orderBy?.field, 'orderBy');
  const direction = query.orderBy.direction;
  if (direction !== 'asc' && direction !== 'desc') throw new InvalidQuery(`collection ${spec.name}: orderBy.direction must be asc or desc`);
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIMIT) {
    throw new InvalidQuery(`limit must be an integer in 1..${MAX_LIMIT}`);
  }
  const orderBy = { field: orderField, direction };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([spec.name, where, range, orderBy]))
    .digest('base64url')
    .slice(0, 16);
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor, fingerprint);
  return { where, range, orderBy, limit: query.limit, after, fingerprint };
};

export const encodeCursor = (after: After, fingerprint: string): string =>
  Buffer.from(JSON.stringify([after.value, after.id, fingerprint]), 'utf8').toString('base64url');

const decodeCursor = (cursor: string, fingerprint: string): After => {
  const bad = (): InvalidQuery => new InvalidQuery('invalid cursor: not from this query');
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad();
  const [value, id, fp] = parsed as unknown[];
  if (!isScalar(value) || typeof id !== 'string' || fp !== fingerprint) throw bad();
  return { value, id };
};

/**
 * Keeps only the last write per (collection, id) (ordered by each document's last write): a commit's effect is the same
 * whether its ops are applied one by one or coalesced, and an adapter that marks documents with the
 * event's revision (MongoDB without transactions) must write each document once per event.
 */
export const coalesceOps = (ops: readonly WriteOp[]): WriteOp[] => {
  const last = new Map<string, Map<string, WriteOp>>();
  let repeated = false;
  for (const op of ops) {
    const id = op.kind === 'upsert' ? op.doc.id : op.id;
    let byId = last.get(op.collection);
    if (!byId) {
      byId = new Map();
      last.set(op.collection, byId);
    }
    if (byId.delete(id)) repeated = true;
    byId.set(id, op);
  }
  if (!repeated) return [...ops];
  // Ordered by each document's last write.
  const order = new Map<WriteOp, number>(ops.map((op, i) => [op, i]));
  return [...last.values()].flatMap((byId) => [...byId.values()]).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
};

/** Checks a write op's shape; the collection must be known to the caller. */
export const checkOp = (op: WriteOp): void => {
  const id = op.kind === 'upsert' ? op.doc?.id : op.kind === 'delete' ? op.id : undefined;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidQuery(`write to ${op.collection}: id must be a non-empty string`);
};

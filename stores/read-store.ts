/**
 * The read store port: documents for the read models, plus one checkpoint per
 * projection that commits together with the projection's writes. Every adapter
 * (stores/sqlite, stores/mongodb) passes test/contracts/read-store.contract.ts.
 *
 * Invariants every adapter keeps:
 * - `commit` applies its writes and moves the checkpoint atomically (one SQLite transaction,
 *   one MongoDB transaction where the deployment has them), or, where no transaction is
 *   available (`atomicCommit` false), each write is applied at most once per (streamId, revision)
 *   of the event that caused it, so replaying an event after a crash changes nothing;
 * - a commit whose lease has been taken over by another owner (a higher fencing token) is refused
 *   with LeaseLost and changes nothing;
 * - versions: a projection's collections exist in numbered versions. Queries (`get`/`find` without
 *   a version) read the projection's active version; a rebuild fills a new version beside it
 *   (`beginVersion`), which nobody queries, and `promote` makes it the active one in one atomic
 *   step, retiring the old version's lease so its consumer stops and moves to the new version.
 *   A collection never rebuilt is at version 1, stored where it always was.
 */
import type { Position } from './event-store.ts';

export type Scalar = string | number | boolean | null;
export type Doc = { id: string } & Record<string, unknown>;

export type CollectionSpec = {
  name: string;
  /** Fields used in `where`, range filters or sorting. */
  indexes: readonly string[];
  /**
   * Indexes over several of those fields, for queries that one field cannot serve without reading a
   * set that grows with history: the equality fields first, then the field the query sorts (or ranges) on.
   */
  compound?: readonly (readonly string[])[];
};

export type Query = {
  /** Equality on indexed fields. */
  where?: Record<string, Scalar>;
  /** Half-open range on one indexed field: gte <= value < lt. */
  range?: { field: string; gte?: string | number; lt?: string | number };
  /** Sort on one indexed field; ties broken by id in the same direction. */
  orderBy: { field: string; direction: 'asc' | 'desc' };
  /** 1..1000 */
  limit: number;
  /** Opaque, from a previous page's nextCursor with the same query. */
  cursor?: string;
};

export type Page = { items: Doc[]; nextCursor: string | null };

/** Every document the query matches, page after page through its cursor (the query's `limit` is the page size). */
export async function* everyDoc(reads: { find(collection: string, query: Query): Promise<Page> }, collection: string, query: Query): AsyncGenerator<Doc> {
  let cursor: string | null = null;
  do {
    const page: Page = await reads.find(collection, cursor === null ? query : { ...query, cursor });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

export type WriteOp = { kind: 'upsert'; collection: string; doc: Doc } | { kind: 'delete'; collection: string; id: string };

/** The event a commit is for: the checkpoint moves to its position. */
export type CommitPoint = { position: Position; streamId: string; revision: number };

/**
 * One active consumer per projection version: whoever holds the lease with the highest token may
 * commit, and its writes go to `version` of the collections.
 */
export type Lease = { projection: string; version: number; owner: string; token: number; expiresAt: Date };

/** The version of a projection that queries read, and the one being built beside it, if any. */
export type Versions = { active: number; building: number | null };

export interface ReadStore {
  /**
   * Whether `commit` is atomic over all its writes and the checkpoint (SQLite; MongoDB with transactions).
   * When false, a runner commits one event at a time: each write is then idempotent by that event's revision.
   */
  readonly atomicCommit: boolean;
  /**
   * Creates collections and indexes if missing, in the active version of their projection (`projection`
   * names the owner; without it, or before any rebuild, that is version 1). Safe to call on every start.
   */
  ensureCollections(specs: readonly CollectionSpec[], projection?: string): Promise<void>;
  /** A document of the collection's active version, or of `version` (a rebuild reading what it built). */
  get(collection: string, id: string, version?: number): Promise<Doc | null>;
  find(collection: string, query: Query, version?: number): Promise<Page>;
  /** Applies the writes to the lease's version and moves that version's checkpoint to `at.position`, atomically. */
  commit(lease: Lease, at: CommitPoint, ops: readonly WriteOp[]): Promise<void>;
  /** The checkpoint of the projection's active version, or of `version`. */
  checkpoint(projection: string, version?: number): Promise<Position | null>;
  /**
   * Grants the lease of the projection's `version` (default 1: also any other named consumer, like a
   * worker) if it is free, expired, or already this owner's (renewal keeps the token). Never grants
   * the lease of a retired version.
   */
  acquireLease(projection: string, owner: string, ttlMs: number, now: Date, version?: number): Promise<Lease | null>;
  releaseLease(lease: Lease): Promise<void>;
  /** Empties the lease's version of the collections and forgets its checkpoint (lease-checked). */
  reset(lease: Lease, collections: readonly string[]): Promise<void>;
  versions(projection: string): Promise<Versions>;
  /**
   * Starts a new version of the projection's collections, empty, beside the active one, and grants its
   * lease to `owner`. Secondary indexes are left out until `indexVersion` (a table fills faster without).
   * A build left behind by a crashed rebuild is dropped first; null while another owner's build holds
   * an unexpired lease (one rebuild at a time).
   */
  beginVersion(projection: string, specs: readonly CollectionSpec[], owner: string, ttlMs: number, now: Date): Promise<Lease | null>;
  /** Creates the secondary indexes of the lease's (building) version. */
  indexVersion(lease: Lease): Promise<void>;
  /**
   * Makes the lease's version the active one, in one atomic step, once its checkpoint has reached the
   * active version's. The old version's lease is retired (its consumer's next commit is refused and it
   * moves to the new version) and the new version's lease is released, so that consumer can take it
   * over at once. Answers false when the active version is still ahead: then its lease goes to the
   * caller until the caller's own lease would expire (its consumer pauses, so its checkpoint stops
   * moving); catch up to it and call again. A builder that dies meanwhile frees it by expiry.
   */
  promote(lease: Lease): Promise<boolean>;
  /** Drops the collections of versions older than the active one, once no reader can still be using them. */
  dropRetired(projection: string): Promise<void>;
  close(): Promise<void>;
}

export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(
    readonly projection: string,
    readonly token: number,
  ) {
    super(`projection ${projection}: lease with token ${token} is no longer held`);
  }
}

export class InvalidQuery extends Error {
  override readonly name = 'InvalidQuery';
}

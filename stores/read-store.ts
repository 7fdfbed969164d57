/**
 * The read store port: documents for the read models, plus one checkpoint per
 * projection that commits together with the projection's writes. Every adapter
 * (stores/sqlite, stores/mongodb) passes test/contracts/read-store.contract.ts.
 *
 * Invariants every adapter keeps:
 * - `commit` applies its writes and moves the checkpoint atomically (one SQLite transaction,
 *   one MongoDB transaction where the deployment has them), or, where no transaction is
 *   available, each write is applied at most once per (streamId, revision) of the event that
 *   caused it, so replaying an event after a crash changes nothing;
 * - a commit whose lease has been taken over by another owner (a higher fencing token) is refused
 *   with LeaseLost and changes nothing.
 */
import type { Position } from './event-store.ts';

export type Scalar = string | number | boolean | null;
export type Doc = { id: string } & Record<string, unknown>;

export type CollectionSpec = {
  name: string;
  /** Fields used in `where`, range filters or sorting. */
  indexes: readonly string[];
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

export type WriteOp =
  | { kind: 'upsert'; collection: string; doc: Doc }
  | { kind: 'delete'; collection: string; id: string };

/** The event a commit is for: the checkpoint moves to its position. */
export type CommitPoint = { position: Position; streamId: string; revision: number };

/** One active consumer per projection: whoever holds the lease with the highest token may commit. */
export type Lease = { projection: string; owner: string; token: number; expiresAt: Date };

export interface ReadStore {
  /** Creates collections and indexes if missing; safe to call on every start. */
  ensureCollections(specs: readonly CollectionSpec[]): Promise<void>;
  get(collection: string, id: string): Promise<Doc | null>;
  find(collection: string, query: Query): Promise<Page>;
  /** Applies the writes and moves the projection's checkpoint to `at.position`, atomically. */
  commit(lease: Lease, at: CommitPoint, ops: readonly WriteOp[]): Promise<void>;
  checkpoint(projection: string): Promise<Position | null>;
  /** Grants the lease if it is free, expired, or already this owner's (renewal keeps the token). */
  acquireLease(projection: string, owner: string, ttlMs: number, now: Date): Promise<Lease | null>;
  releaseLease(lease: Lease): Promise<void>;
  /** For a rebuild: empties the collections and forgets the projection's checkpoint (lease-checked). */
  reset(lease: Lease, collections: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(readonly projection: string, readonly token: number) {
    super(`projection ${projection}: lease with token ${token} is no longer held`);
  }
}

export class InvalidQuery extends Error {
  override readonly name = 'InvalidQuery';
}

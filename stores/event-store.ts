/**
 * The event store port. Every adapter (stores/sqlite, stores/esdb) passes the
 * contract suite in test/contracts/event-store.contract.ts.
 *
 * Invariants every adapter keeps:
 * - an append is atomic and durable before its promise resolves;
 * - the expected revision is checked inside the same atomic step as the write;
 * - appending the same event ids at the same expected revision again is a no-op
 *   that answers like the first append (idempotent retry), never a duplicate — but only
 *   when each event's type and data are the same too: an id reused with different content
 *   is refused with EventIdConflict (a concurrent writer got there first with other facts);
 * - the global log is read in commit order, with no event skipped and none twice.
 */

/** Metadata on every event: who caused it and why. Never holds secrets, codes or whole phone numbers. */
export type Actor = {
  role: string;
  client: string;
  /** The person behind a named token (`role:name:token`), e.g. the customer-service agent who acted. */
  name?: string;
};
export type EventMetadata = {
  correlationId: string;
  causationId: string;
  actor: Actor;
  schemaVersion: number;
};

/** An event to append. `id` is a UUID chosen by the writer, so a retry resends the same id. */
export type NewEvent = {
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
};

/**
 * A place in the global log. Opaque: EventStoreDB's `$all` positions have gaps,
 * so callers only compare positions (see comparePositions) and never do arithmetic on them.
 */
export type Position = { commit: bigint; prepare: bigint };

export type RecordedEvent = NewEvent & {
  streamId: string;
  /** 0-based revision of the event within its stream. */
  revision: number;
  position: Position;
  recordedAt: Date;
};

/** `any`: no check; `no_stream`: the stream must not exist; `stream_exists`: it must; a number: the revision of the stream's last event. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export type AppendResult = {
  /** Revision of the last event now in the stream. */
  nextRevision: number;
  /** Position of the last appended event in the global log. */
  position: Position;
};

/** Where reading the global log starts: exclusive of the given position. */
export type From = 'start' | Position;

/**
 * A subscription to the global log: catch up from a position, then live.
 * Pull-based (async iteration), so a slow consumer holds the producer back instead of
 * piling events up in memory.
 */
export type Subscription = AsyncIterable<RecordedEvent> & { close(): Promise<void> };

/** Which events of a stream to read: from revision `from` (default 0) on, at most `limit` of them (default all). */
export type StreamSlice = { from?: number; limit?: number };

/** Throws RangeError unless the slice's bounds are integers (`from` ≥ 0, `limit` ≥ 1). */
export const checkSlice = (slice: StreamSlice): { from: number; limit: number | undefined } => {
  const { from = 0, limit } = slice;
  if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`readStream: from must be a non-negative integer, got ${from}`);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new RangeError(`readStream: limit must be a positive integer, got ${limit}`);
  return { from, limit };
};

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** The stream's events in revision order (all of them, or the slice asked for); a missing stream reads as []. */
  readStream(streamId: string, slice?: StreamSlice): Promise<RecordedEvent[]>;
  /** Up to `limit` events of the global log after `from`, in commit order. */
  readAll(from: From, limit: number): Promise<RecordedEvent[]>;
  /** The position of the last event in the global log, or null when it is empty. */
  headPosition(): Promise<Position | null>;
  subscribeAll(from: From): Subscription;
  close(): Promise<void>;
}

/** The stream's current revision does not match the writer's expectation. */
export class WrongExpectedRevision extends Error {
  override readonly name = 'WrongExpectedRevision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual}`);
  }
}

/**
 * The events' ids are already in the stream where this append puts them, but with other content:
 * not a retry of this append but another writer's, who derived the same ids from the same state.
 * Like WrongExpectedRevision, the writer should read the stream again and decide again.
 */
export class EventIdConflict extends Error {
  override readonly name = 'EventIdConflict';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
  ) {
    super(`stream ${streamId}: event id ${eventId} is already used with other content`);
  }
}

/** Same type and same data (key order ignored): what makes a reused event id a retry rather than a conflict. */
export const sameContent = (a: { type: string; data: unknown }, b: { type: string; data: unknown }): boolean => a.type === b.type && sameJson(a.data, b.data);

const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ea = Object.entries(a).filter(([, v]) => v !== undefined);
  const mb = new Map(Object.entries(b).filter(([, v]) => v !== undefined));
  return ea.length === mb.size && ea.every(([k, v]) => mb.has(k) && sameJson(v, mb.get(k)));
};

export const comparePositions = (a: Position, b: Position): number =>
  a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : a.prepare < b.prepare ? -1 : a.prepare > b.prepare ? 1 : 0;

/** `a` at or past `b`; a null position (empty log) is before everything. */
export const reached = (a: Position | null, b: Position | null): boolean => b === null || (a !== null && comparePositions(a, b) >= 0);

export const positionToString = (p: Position): string => `${p.commit}/${p.prepare}`;

export const parsePosition = (s: string): Position => {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m?.[1] || !m[2]) throw new Error(`not a position: ${s}`);
  return { commit: BigInt(m[1]), prepare: BigInt(m[2]) };
};

/**
 * Every event of the global log after `from`, in commit order, read page by page
 * (for scripts that replay the whole log: audit, reconcile, migrate).
 */
export async function* readLog(store: EventStore, from: From = 'start', pageSize = 5000): AsyncGenerator<RecordedEvent> {
  let cursor = from;
  for (;;) {
    const page = await store.readAll(cursor, pageSize);
    const last = page.at(-1);
    if (!last) return;
    yield* page;
    cursor = last.position;
  }
}

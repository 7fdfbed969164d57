/**
 * The embedded event store: one SQLite file (better-sqlite3, WAL, synchronous=FULL).
 *
 * Open with `await openSqliteEventStore(file)` (async so every adapter opens the same way; the
 * work inside is synchronous).
 *
 * Invariants:
 * - durable before resolved: an append's promise resolves only after the transaction that holds
 *   it has committed, and with synchronous=FULL a WAL commit is fsynced;
 * - group commit: appends queued in the same turn of the event loop are flushed on the next
 *   `setImmediate` in ONE transaction (one fsync). Each append is checked and written on its own
 *   inside that transaction (multi-event appends inside a savepoint), so one append failing its
 *   expected revision never fails the others;
 * - global order: `seq` is INTEGER PRIMARY KEY AUTOINCREMENT. SQLite allows one writer at a time
 *   and assigns `seq` inside the write transaction, so commit order == `seq` order, and a reader
 *   that sees `seq` N sees every smaller `seq` (a rolled-back `seq` is reused by the next writer,
 *   never skipped). Position = { commit: seq, prepare: seq };
 * - a stream's revisions are 0, 1, 2… with no gaps: UNIQUE (stream_id, revision), and an event
 *   is only ever written at current revision + 1;
 * - event ids are unique in the whole store (UNIQUE (id));
 * - subscriptions read through one shared tail of the log (log-tail.ts): the live consumers all follow
 *   the head, so each new event is read and parsed once, not once per consumer; those events are
 *   frozen. `readAll` and `readStream` always read the file and hand out the reader's own objects.
 *
 * Errors, modelled on EventStoreDB:
 * - the expected revision is checked first; a mismatch is WrongExpectedRevision, unless the
 *   append is an exact retry (the same ids already sit in that stream where the expected revision
 *   puts them, consecutive and in order — for 'any'/'stream_exists' anywhere in the stream — with the
 *   same types and data), which answers with the first append's result and writes nothing; the same
 *   ids there with other content are an EventIdConflict;
 * - when the expected revision matches but an event id already exists and the append is not such
 *   a retry (the id belongs to another stream or place), the append fails with DuplicateEventId.
 *   EventStoreDB would write a second event with that id; we refuse instead.
 *
 * A per-process cache of stream revisions saves a SELECT per append. It is only ever behind the
 * truth (another process may have appended since; streams never shrink; a transaction's updates
 * reach the cache only after it commits), and a stale value is caught inside the transaction:
 * writing at a revision that already exists violates UNIQUE (stream_id, revision), and a mismatch
 * found with a cached value is re-checked against the database.
 */
import Database from 'better-sqlite3';
import {
  checkSlice,
  EventIdConflict,
  WrongExpectedRevision,
  sameContent,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type From,
  type NewEvent,
  type Position,
  type RecordedEvent,
} from '../event-store.ts';
import { logSubscription, type LogSubscription } from './event-subscription.ts';
import { logTail } from './log-tail.ts';

/** The expected revision matched, but an event id is already used elsewhere in the store. */
export class DuplicateEventId extends Error {
  override readonly name = 'DuplicateEventId';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
  ) {
    super(`stream ${streamId}: event id ${eventId} is already used by another event`);
  }
}

export type SqliteEventStoreStats = {
  /** Write transactions committed (one per group-commit flush). */
  transactions: number;
  /** Appends that wrote events. */
  appends: number;
  /** Events written. */
  events: number;
};

export type SqliteEventStore = EventStore & {
  /** Counters since open, for tests and the bench; not part of the port. */
  stats(): SqliteEventStoreStats;
};

export type SqliteEventStoreOptions = {
  /** How often an idle subscription looks for appends made by other processes. Default 100 ms. */
  pollMs?: number;
  /** Events read per subscription page. Default 500. */
  pageSize?: number;
};

type EventRow = {
  seq: number;
  id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: number;
};

type PlacedRow = { seq: number; stream_id: string; revision: number; type: string; data: string };

/** An append waiting for the next flush; data and metadata already serialised (once). */
type Pending = {
  streamId: string;
  events: readonly { id: string; type: string; data: string; metadata: string }[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};

/** `wrote` is false for an idempotent retry, which answers without writing. */
type Applied = { result: AppendResult; wrote: boolean };
type Outcome = ({ ok: true } & Applied) | { ok: false; error: Error };

/** The events table; exported so the bench's raw baseline uses the very same shape. */
export const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  stream_id TEXT NOT NULL,
  revision INTEGER NOT NULL CHECK (revision >= 0),
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  UNIQUE (stream_id, revision)
);`;

/** Flushes bigger than this are split, so one flush never holds the write lock for long. */
const MAX_APPENDS_PER_TRANSACTION = 2000;
/** How many extra event-loop turns a flush may wait while appends keep arriving. */
const MAX_WAIT_TURNS = 4;
/** The revision cache is dropped when it grows past this many streams. */
const MAX_CACHED_STREAMS = 100_000;

const toPosition = (seq: number): Position => ({ commit: BigInt(seq), prepare: BigInt(seq) });

const seqAfter = (from: From): number => (from === 'start' ? 0 : Number(from.commit));

const matches = (expected: ExpectedRevision, actual: number): boolean =>
  expected === 'any' || (expected === 'no_stream' && actual === -1) || (expected === 'stream_exists' && actual >= 0) || expected === actual;

const isConstraintError = (e: unknown): e is InstanceType<typeof Database.SqliteError> =>
  e instanceof Database.SqliteError && e.code.startsWith('SQLITE_CONSTRAINT');

const validExpected = (expected: ExpectedRevision): boolean =>
  expected === 'any' ||
  expected === 'no_stream' ||
  expected === 'stream_exists' ||
  (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0);

/** Events the subscriptions' shared tail holds: a few seconds of the log at full load. */
const TAIL_EVENTS = 5000;

export const openSqliteEventStore = async (file: string, options: SqliteEventStoreOptions = {}): Promise<SqliteEventStore> => {
  const pollMs = options.pollMs ?? 100;
  const pageSize = options.pageSize ?? 500;

  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(EVENTS_SCHEMA);

  const insertEvent = db.prepare<[string, string, number, string, string, string, number]>(
    'INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const streamRevision = db.prepare<[string], number | null>('SELECT MAX(revision) FROM events WHERE stream_id = ?').pluck();
  const placedById = db.prepare<[string], PlacedRow>('SELECT seq, stream_id, revision, type, data FROM events WHERE id = ?');
  // Two statements: a LIMIT clause, even a bound -1, makes every read measurably slower (~10 µs).
  const readStreamRows = db.prepare<[string, number], EventRow>('SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision');
  const readStreamSlice = db.prepare<[string, number, number], EventRow>(
    'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
  );
  const readAllRows = db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
  const headSeq = db.prepare<[], number | null>('SELECT MAX(seq) FROM events').pluck();
  const savepoint = db.prepare('SAVEPOINT append');
  const release = db.prepare('RELEASE append');
  const rollbackTo = db.prepare('ROLLBACK TO append');

  /** Last known revision per stream, committed only; never ahead of the database. */
  const revisionCache = new Map<string, number>();
  /** Revisions written by the transaction in progress; reaches the cache on commit. */
  let written = new Map<string, number>();
  const stats: SqliteEventStoreStats = { transactions: 0, appends: 0, events: 0 };

  let queue: Pending[] = [];
  let flushScheduled = false;
  let closed = false;
  const subscriptions = new Set<LogSubscription>();

  const toRecorded = (row: EventRow): RecordedEvent => ({
    id: row.id,
    type: row.type,
    data: JSON.parse(row.data) as RecordedEvent['data'],
    metadata: JSON.parse(row.metadata) as RecordedEvent['metadata'],
    streamId: row.stream_id,
    revision: row.revision,
    position: toPosition(row.seq),
    recordedAt: new Date(row.recorded_at),
  });

  /**
   * The result of the earlier append these events came from, when this append is an exact retry of it
   * (same ids in the same places, same types and data); EventIdConflict when the ids sit where this
   * append puts them but hold other content; null otherwise.
   */
  const earlierAppend = (p: Pending): AppendResult | null => {
    let first: PlacedRow | undefined;
    let last: PlacedRow | undefined;
    let differs: string | undefined;
    for (const [i, event] of p.events.entries()) {
      const placed = placedById.get(event.id);
      if (placed === undefined || placed.stream_id !== p.streamId) return null;
      first ??= placed;
      if (placed.revision !== first.revision + i) return null;
      if (
        differs === undefined &&
        (placed.type !== event.type ||
          (placed.data !== event.data &&
            !sameContent({ type: placed.type, data: JSON.parse(placed.data) }, { type: event.type, data: JSON.parse(event.data) })))
      )
        differs = event.id;
      last = placed;
    }
    if (first === undefined || last === undefined) return null;
    const start = p.expected === 'no_stream' ? 0 : typeof p.expected === 'number' ? p.expected + 1 : first.revision;
    if (first.revision !== start) return null;
    if (differs !== undefined) throw new EventIdConflict(p.streamId, differs);
    return { nextRevision: last.revision, position: toPosition(last.seq) };
  };

  const insertAll = (p: Pending, from: number, now: number): AppendResult => {
    let seq = 0;
    for (let i = 0; i < p.events.length; i++) {
      const event = p.events[i];
      if (event === undefined) continue;
      seq = Number(insertEvent.run(event.id, p.streamId, from + i, event.type, event.data, event.metadata, now).lastInsertRowid);
    }
    return { nextRevision: from + p.events.length - 1, position: toPosition(seq) };
  };

  /** Checks and writes one append inside the flush transaction. Throws only for this append. */
  const applyAppend = (p: Pending, now: number): Applied => {
    const known = written.get(p.streamId) ?? revisionCache.get(p.streamId);
    let actual = known ?? streamRevision.get(p.streamId) ?? -1;
    let fromCache = known !== undefined;
    for (;;) {
      if (!matches(p.expected, actual)) {
        if (fromCache) {
          actual = streamRevision.get(p.streamId) ?? -1;
          fromCache = false;
          continue;
        }
        const retry = earlierAppend(p);
        if (retry !== null) return { result: retry, wrote: false };
        throw new WrongExpectedRevision(p.streamId, p.expected, actual);
      }
      const multi = p.events.length > 1;
      if (multi) savepoint.run();
      try {
        const result = insertAll(p, actual + 1, now);
        if (multi) release.run();
        written.set(p.streamId, result.nextRevision);
        return { result, wrote: true };
      } catch (e) {
        // Anything but a constraint violation aborts the whole flush transaction.
        if (!isConstraintError(e)) throw e;
        // A failed single INSERT is undone by SQLite itself (statement rollback).
        if (multi) {
          rollbackTo.run();
          release.run();
        }
        if (e.message.includes('events.stream_id')) {
          // Another process appended since we cached this stream's revision: check again.
          if (!fromCache) throw e;
          actual = streamRevision.get(p.streamId) ?? -1;
          fromCache = false;
          continue;
        }
        if (e.message.includes('events.id')) {
          const retry = earlierAppend(p);
          if (retry !== null) return { result: retry, wrote: false };
          const taken = p.events.find((event) => placedById.get(event.id) !== undefined);
          throw new DuplicateEventId(p.streamId, taken?.id ?? '(repeated within the append)');
        }
        throw e;
      }
    }
  };

  const flushBatch = db.transaction((batch: readonly Pending[]): Outcome[] => {
    const now = Date.now();
    return batch.map((p): Outcome => {
      try {
        return { ok: true, ...applyAppend(p, now) };
      } catch (e) {
        if (e instanceof WrongExpectedRevision || e instanceof DuplicateEventId || e instanceof EventIdConflict) return { ok: false, error: e };
        throw e;
      }
    });
  });

  // Adaptive group commit: while appends keep arriving turn after turn (callers under load reach
  // their append a few ticks apart), wait up to MAX_WAIT_TURNS more turns so they share one fsync.
  // A lone append is flushed after one idle turn.
  let waitedTurns = 0;
  let seenLastTurn = 0;

  const flush = (): void => {
    flushScheduled = false;
    if (queue.length > seenLastTurn && queue.length < MAX_APPENDS_PER_TRANSACTION && waitedTurns < MAX_WAIT_TURNS && !closed) {
      seenLastTurn = queue.length;
      waitedTurns += 1;
      scheduleFlush();
      return;
    }
    waitedTurns = 0;
    seenLastTurn = 0;
    const batch = queue.length > MAX_APPENDS_PER_TRANSACTION ? queue.splice(0, MAX_APPENDS_PER_TRANSACTION) : queue;
    if (batch === queue) queue = [];
    if (queue.length > 0) scheduleFlush();
    if (batch.length === 0) return;
    written = new Map();
    let outcomes: Outcome[];
    try {
      // IMMEDIATE takes the write lock at BEGIN, where busy_timeout applies: a second process on the same
      // file waits its turn instead of failing at once with SQLITE_BUSY when a deferred read upgrades.
      outcomes = flushBatch.immediate(batch);
    } catch (e) {
      // The whole transaction rolled back (I/O error, lock timeout…): nothing was written.
      written = new Map();
      for (const p of batch) p.reject(e);
      return;
    }
    stats.transactions += 1;
    if (revisionCache.size + written.size > MAX_CACHED_STREAMS) revisionCache.clear();
    for (const [streamId, revision] of written) revisionCache.set(streamId, revision);
    written = new Map();
    for (const [i, p] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome === undefined) continue;
      if (outcome.ok) {
        if (outcome.wrote) {
          stats.appends += 1;
          stats.events += p.events.length;
        }
        p.resolve(outcome.result);
      } else {
        p.reject(outcome.error);
      }
    }
    for (const sub of subscriptions) sub.wake();
  };

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  const assertOpen = (): void => {
    if (closed) throw new Error('event store is closed');
  };

  const append = (streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> =>
    new Promise<AppendResult>((resolve, reject) => {
      assertOpen();
      if (typeof streamId !== 'string' || streamId === '') throw new Error('append needs a stream id');
      if (events.length === 0) throw new Error(`stream ${streamId}: append needs at least one event`);
      if (!validExpected(expected)) throw new Error(`stream ${streamId}: invalid expected revision`);
      const serialised = events.map((e) => {
        if (typeof e.id !== 'string' || e.id === '' || typeof e.type !== 'string' || e.type === '') {
          throw new Error(`stream ${streamId}: every event needs a string id and type`);
        }
        const data: string | undefined = JSON.stringify(e.data);
        const metadata: string | undefined = JSON.stringify(e.metadata);
        if (data === undefined || metadata === undefined) {
          throw new Error(`stream ${streamId}: event ${e.id} has no data or metadata`);
        }
        return { id: e.id, type: e.type, data, metadata };
      });
      queue.push({ streamId, events: serialised, expected, resolve, reject });
      scheduleFlush();
    });

  const readPage = (afterSeq: number, limit: number): RecordedEvent[] => readAllRows.all(afterSeq, limit).map(toRecorded);
  /** What the subscriptions read: they follow the same head, so they share what was read of it. */
  const readTail = logTail(readPage, TAIL_EVENTS);

  return {
    append,
    readStream: async (streamId, slice = {}) => {
      assertOpen();
      const { from, limit } = checkSlice(slice);
      return (limit === undefined ? readStreamRows.all(streamId, from) : readStreamSlice.all(streamId, from, limit)).map(toRecorded);
    },
    readAll: async (from, limit) => {
      assertOpen();
      if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`readAll: invalid limit ${limit}`);
      return readPage(seqAfter(from), limit);
    },
    headPosition: async () => {
      assertOpen();
      const seq = headSeq.get();
      return seq === null || seq === undefined ? null : toPosition(seq);
    },
    subscribeAll: (from) => {
      assertOpen();
      const sub = logSubscription({
        readPage: readTail,
        afterSeq: seqAfter(from),
        pageSize,
        pollMs,
        onClose: () => subscriptions.delete(sub),
      });
      subscriptions.add(sub);
      return sub;
    },
    close: async () => {
      if (closed) return;
      // Queued appends are flushed (and their promises settled) before the file closes.
      while (queue.length > 0) flush();
      closed = true;
      await Promise.all([...subscriptions].map((sub) => sub.close()));
      db.close();
    },
    stats: () => ({ ...stats }),
  };
};

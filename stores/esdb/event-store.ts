/**
 * EventStoreDB adapter of the event store port, over `@eventstore/db-client` (gRPC).
 *
 * Invariants this adapter relies on (see stores/event-store.ts for the port's):
 * - the writer's NewEvent.id is sent as the EventStoreDB event id, so a retry of the same
 *   events at the same expected revision is made idempotent by the server, not by us;
 * - `$all` positions are opaque { commit, prepare } pairs with gaps: we only pass them back
 *   to the server or compare them, never do arithmetic on them;
 * - system events (type starting with `$`) never leave this module: reads of `$all` skip them,
 *   and the subscription asks the server to filter them out (`excludeSystemEvents`);
 * - reading `$all` *from a position* includes the event at that position (server semantics),
 *   while the port's `From` is exclusive, so readAll drops that first event; a catch-up
 *   subscription from a position is already exclusive on the server.
 */
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type JSONType,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  EventIdConflict,
  WrongExpectedRevision,
  comparePositions,
  checkSlice,
  sameContent,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type From,
  type NewEvent,
  type Position,
  type RecordedEvent,
  type StreamSlice,
  type Subscription,
} from '../event-store.ts';

/** A recorded event as the client hands it over (stream read, `$all` read or subscription). */
type ClientRecorded = NonNullable<ResolvedEvent['event']> | NonNullable<AllStreamResolvedEvent['event']>;

/** How many `$all` events one server round trip asks for when we must skip system events. */
const PAGE = 256;

/** EventStoreDB answers "no position" as -1 on the wire, which the client shows as 2^64-1. */
const NO_POSITION = 0xffff_ffff_ffff_ffffn;

const isSystemType = (type: string): boolean => type.startsWith('$');

const toClientRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expected revision must be a non-negative integer, got ${String(expected)}`);
      }
      return BigInt(expected);
  }
};

const toRevision = (revision: bigint): number => {
  const n = Number(revision);
  if (!Number.isSafeInteger(n)) throw new RangeError(`stream revision out of range: ${revision}`);
  return n;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

const isEventMetadata = (value: unknown): value is EventMetadata =>
  isRecord(value) &&
  typeof value['correlationId'] === 'string' &&
  typeof value['causationId'] === 'string' &&
  typeof value['schemaVersion'] === 'number' &&
  isRecord(value['actor']) &&
  typeof value['actor']['role'] === 'string' &&
  typeof value['actor']['client'] === 'string';

const usablePosition = (p: { commit: bigint; prepare: bigint } | undefined): Position | null =>
  p && p.commit !== NO_POSITION && p.prepare !== NO_POSITION ? { commit: p.commit, prepare: p.prepare } : null;

/** Converts a client event to the port's shape; events not written through the port are refused loudly. */
const toRecorded = (e: ClientRecorded, position: Position): RecordedEvent => {
  if (!e.isJson || !isRecord(e.data)) throw new Error(`event ${e.id} in ${e.streamId} is not a JSON object`);
  if (!isEventMetadata(e.metadata)) throw new Error(`event ${e.id} in ${e.streamId} has no port metadata`);
  return {
    id: e.id,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    streamId: e.streamId,
    revision: toRevision(e.revision),
    position,
    recordedAt: e.created,
  };
};

const requirePosition = (e: ClientRecorded): Position => {
  const p = usablePosition(e.position);
  if (!p) {
    // Stream reads carry `$all` positions only on EventStoreDB 22.6 and later.
    throw new Error(`event ${e.id} in ${e.streamId} came without a $all position (server older than 22.6?)`);
  }
  return p;
};

const toClientPosition = (from: From): typeof START | { commit: bigint; prepare: bigint } =>
  from === 'start' ? START : { commit: from.commit, prepare: from.prepare };

export async function openEsdbEventStore(connectionString: string): Promise<EventStore> {
  const client = EventStoreDBClient.connectionString(connectionString);
  const openSubscriptions = new Set<Subscription>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('event store is closed');
  };

  /** All events of a stream from `fromRevision` on (forwards); a missing stream reads as []. */
  const readStreamFrom = async (streamId: string, fromRevision: bigint | typeof START, maxCount?: number): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    const read = client.readStream(streamId, {
      fromRevision,
      direction: FORWARDS,
      ...(maxCount === undefined ? {} : { maxCount }),
    });
    try {
      // StreamNotFoundError arrives while iterating, not when readStream is called.
      for await (const resolved of read) {
        if (resolved.event) out.push(toRecorded(resolved.event, requirePosition(resolved.event)));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  };

  /** One raw page of `$all`, system events included, so the caller can advance past them. */
  const readAllPage = async (
    from: typeof START | typeof END | Position,
    direction: typeof FORWARDS | typeof BACKWARDS,
    maxCount: number,
  ): Promise<{ event: ClientRecorded; position: Position }[]> => {
    const page: { event: ClientRecorded; position: Position }[] = [];
    for await (const resolved of client.readAll({ fromPosition: from, direction, maxCount })) {
      const e = resolved.event;
      if (!e) continue;
      const position = usablePosition(e.position);
      if (!position) throw new Error(`$all event ${e.id} came without a position`);
      page.push({ event: e, position });
    }
    return page;
  };

  const append = async (streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> => {
    ensureOpen();
    if (events.length === 0) throw new RangeError('append needs at least one event');
    const revision = toClientRevision(expected);
    const data = events.map((e) =>
      jsonEvent({
        id: e.id,
        type: e.type,
        // NewEvent.data is a JSON object by contract; JSONType is the client's name for it.
        data: e.data satisfies JSONType,
        metadata: { ...e.metadata },
      }),
    );
    try {
      const result = await client.appendToStream(streamId, data, { expectedRevision: revision });
      const nextRevision = toRevision(result.nextExpectedRevision);
      // The server deduplicates by event id alone, and answers an idempotent retry like a new append
      // (with the first append's position, or with none, by version): success never says whether
      // these events were written now. So every append reads its events back: other content under
      // the same ids is another writer's, an EventIdConflict, never a success.
      const stored = await readStreamFrom(streamId, BigInt(nextRevision - events.length + 1), events.length);
      const last = stored.at(-1);
      if (!last || stored.length !== events.length) throw new Error(`append to ${streamId} succeeded but revision ${nextRevision} cannot be read`);
      const differs = events.find((e, i) => stored[i]?.id !== e.id || !sameContent(stored[i] ?? e, e));
      if (differs) throw new EventIdConflict(streamId, differs.id);
      return { nextRevision, position: usablePosition(result.position) ?? last.position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = typeof error.actualVersion === 'bigint' ? toRevision(error.actualVersion) : -1;
        throw new WrongExpectedRevision(streamId, expected, actual);
      }
      throw error;
    }
  };

  const readStream = async (streamId: string, slice: StreamSlice = {}): Promise<RecordedEvent[]> => {
    ensureOpen();
    const { from, limit } = checkSlice(slice);
    return readStreamFrom(streamId, from === 0 ? START : BigInt(from), limit);
  };

  const readAll = async (from: From, limit: number): Promise<RecordedEvent[]> => {
    ensureOpen();
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const out: RecordedEvent[] = [];
    let cursor: Position | null = from === 'start' ? null : from;
    while (out.length < limit) {
      // A read from a position includes that position's event, hence the +1 and the skip below.
      const want = Math.min(PAGE, limit - out.length) + (cursor ? 1 : 0);
      const page = await readAllPage(cursor ?? START, FORWARDS, want);
      let fresh = 0;
      for (const { event, position } of page) {
        if (cursor && comparePositions(position, cursor) <= 0) continue;
        fresh += 1;
        cursor = position;
        if (!isSystemType(event.type) && out.length < limit) out.push(toRecorded(event, position));
      }
      if (page.length < want || fresh === 0) break;
    }
    return out;
  };

  const headPosition = async (): Promise<Position | null> => {
    ensureOpen();
    let cursor: typeof END | Position = END;
    for (;;) {
      // Backwards from a position excludes it, so each page continues where the last one ended.
      const page = await readAllPage(cursor, BACKWARDS, PAGE);
      let fresh = 0;
      for (const { event, position } of page) {
        if (cursor !== END && comparePositions(position, cursor) >= 0) continue;
        fresh += 1;
        if (!isSystemType(event.type)) return position;
      }
      const last = page.at(-1);
      if (page.length < PAGE || !last || fresh === 0) return null;
      cursor = last.position;
    }
  };

  const subscribeAll = (from: From): Subscription => {
    ensureOpen();
    // Created on first pull, so an unused subscription holds no server resources.
    let source: ReturnType<EventStoreDBClient['subscribeToAll']> | undefined;
    let stopped = false;

    async function* events(): AsyncGenerator<RecordedEvent, void, undefined> {
      if (stopped) return;
      source = client.subscribeToAll({ fromPosition: toClientPosition(from), filter: excludeSystemEvents() });
      try {
        // Pull-based: the client stream buffers a bounded number of events and the gRPC call
        // stops reading from the socket while we are not pulling (backpressure to the server).
        for await (const resolved of source) {
          const e = resolved.event;
          if (!e || isSystemType(e.type)) continue;
          const position = usablePosition(e.position);
          if (!position) throw new Error(`$all event ${e.id} came without a position`);
          yield toRecorded(e, position);
        }
      } catch (error) {
        if (!stopped) throw error;
      } finally {
        stopped = true;
        openSubscriptions.delete(subscription);
        await stopSource();
      }
    }

    const stopSource = async (): Promise<void> => {
      const s = source;
      source = undefined;
      if (!s) return;
      await s.unsubscribe();
      // unsubscribe cancels the gRPC call, which does not end the client's stream: destroy it
      // so a consumer waiting for the next event wakes up and sees the end.
      s.destroy();
    };

    const iterator = events();
    const subscription: Subscription = {
      [Symbol.asyncIterator]: () => iterator,
      close: async () => {
        if (!stopped) {
          stopped = true;
          await stopSource();
        }
        openSubscriptions.delete(subscription);
        await iterator.return(undefined);
      },
    };
    openSubscriptions.add(subscription);
    return subscription;
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([...openSubscriptions].map((s) => s.close()));
    await client.dispose();
  };

  return { append, readStream, readAll, headPosition, subscribeAll, close };
}

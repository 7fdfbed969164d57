/**
 * The in-memory transaction log behind the EventStoreDB stand-in.
 *
 * Invariants:
 * - `$all` positions grow strictly with each record but with gaps (a step that depends on the
 *   record's size), and commit == prepare, as for single-event records on a real node;
 * - an append is checked and written in one synchronous step, so appends are atomic;
 * - expected-version and idempotency rules follow EventStoreDB's documented behaviour:
 *   the same event ids at the same expected version succeed again without duplicates and are
 *   answered without a position; a partial match is a wrong expected version.
 */

export type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };

export type ProposedEvent = {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
};

export type LogRecord = ProposedEvent & {
  streamId: string;
  revision: bigint;
  /** commit == prepare for every record. */
  position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as EventStoreDB's `created` metadata. */
  created: bigint;
};

export type AppendOutcome =
  | { kind: 'success'; currentRevision: bigint; position: bigint | null }
  | { kind: 'wrong_expected_version'; currentRevision: bigint | null };

const FIRST_POSITION = 1_000n;

export type Log = {
  append(streamId: string, expected: Expected, events: readonly ProposedEvent[]): AppendOutcome;
  /** Events of one stream, or null when it does not exist. */
  stream(streamId: string): readonly LogRecord[] | null;
  /** The whole log in position order. */
  all(): readonly LogRecord[];
  /** Index of the first record with position > p (binary search). */
  indexAfter(position: bigint): number;
  /** True when p is the position of a record, or 0 (the start). */
  isBoundary(position: bigint): boolean;
  /** Resolves on the next write, or when `signal` aborts. */
  nextWrite(signal: AbortSignal): Promise<void>;
  /**
   * Replaces the records with what `edit` returns (it gets copies), as someone with access to the
   * server's disk could; streams are rebuilt from the result in its order. For tamper tests only.
   */
  rewrite(edit: (records: LogRecord[]) => LogRecord[]): void;
};

export function createLog(): Log {
  const records: LogRecord[] = [];
  const streams = new Map<string, LogRecord[]>();
  const positions = new Set<bigint>();
  let nextPosition = FIRST_POSITION;
  let waiters: (() => void)[] = [];

  const lastRevision = (events: LogRecord[] | undefined): bigint | null => (events && events.length > 0 ? BigInt(events.length - 1) : null);

  /** Are `ids` already the events at revisions from, from+1, …? true / false / 'partial'. */
  const matchesAt = (events: LogRecord[], from: number, ids: readonly string[]): boolean | 'partial' => {
    let matched = 0;
    for (const [i, id] of ids.entries()) {
      if (events[from + i]?.id !== id) break;
      matched += 1;
    }
    if (matched === ids.length) return true;
    return matched === 0 ? false : 'partial';
  };

  const write = (streamId: string, events: readonly ProposedEvent[]): AppendOutcome => {
    let stream = streams.get(streamId);
    if (!stream) {
      stream = [];
      streams.set(streamId, stream);
    }
    const now = BigInt(Date.now()) * 10_000n;
    let position = nextPosition;
    for (const e of events) {
      position = nextPosition;
      const record: LogRecord = { ...e, streamId, revision: BigInt(stream.length), position, created: now };
      stream.push(record);
      records.push(record);
      positions.add(position);
      // A gap that depends on the record, so positions are neither contiguous nor evenly spaced.
      nextPosition += 97n + BigInt(e.data.length + e.metadata.length + e.type.length);
    }
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
    return { kind: 'success', currentRevision: BigInt(stream.length - 1), position };
  };

  /**
   * An identical retry: EventStoreDB matches ids only and answers with the position the events already
   * have, like a new append (older versions answered without one); the content is never compared.
   */
  const idempotent = (stream: readonly LogRecord[], from: number, count: number): AppendOutcome => ({
    kind: 'success',
    currentRevision: BigInt(from + count - 1),
    position: stream[from + count - 1]?.position ?? null,
  });

  const append = (streamId: string, expected: Expected, events: readonly ProposedEvent[]): AppendOutcome => {
    const stream = streams.get(streamId);
    const current = lastRevision(stream);
    const ids = events.map((e) => e.id);
    const wrong: AppendOutcome = { kind: 'wrong_expected_version', currentRevision: current };

    if (events.length === 0) {
      // EventStoreDB accepts an empty append and answers with the current state.
      if (expected.kind === 'no_stream' && current !== null) return wrong;
      if (expected.kind === 'stream_exists' && current === null) return wrong;
      if (expected.kind === 'revision' && current !== expected.revision) return wrong;
      return { kind: 'success', currentRevision: current ?? -1n, position: null };
    }

    switch (expected.kind) {
      case 'no_stream': {
        if (!stream || current === null) return write(streamId, events);
        const m = matchesAt(stream, 0, ids);
        return m === true ? idempotent(stream, 0, ids.length) : wrong;
      }
      case 'revision': {
        if (current === expected.revision) return write(streamId, events);
        if (!stream || current === null || current < expected.revision) return wrong;
        const from = Number(expected.revision) + 1;
        const m = matchesAt(stream, from, ids);
        return m === true ? idempotent(stream, from, ids.length) : wrong;
      }
      case 'stream_exists':
      case 'any': {
        if (expected.kind === 'stream_exists' && (!stream || current === null)) return wrong;
        if (stream) {
          const from = stream.findIndex((r) => r.id === ids[0]);
          if (from >= 0) {
            const m = matchesAt(stream, from, ids);
            if (m === true) return idempotent(stream, from, ids.length);
            // Some of the ids are there but not all in order: EventStoreDB reports this
            // ("corrupted idempotency") as a wrong expected version.
            return wrong;
          }
        }
        return write(streamId, events);
      }
    }
  };

  const indexAfter = (position: bigint): number => {
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = records[mid];
      if (r && r.position <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const rewrite = (edit: (records: LogRecord[]) => LogRecord[]): void => {
    const next = edit(records.map((r) => ({ ...r, data: Uint8Array.from(r.data), metadata: Uint8Array.from(r.metadata) })));
    records.length = 0;
    streams.clear();
    positions.clear();
    for (const r of next) {
      records.push(r);
      positions.add(r.position);
      const stream = streams.get(r.streamId);
      if (stream) stream.push(r);
      else streams.set(r.streamId, [r]);
    }
  };

  return {
    append,
    rewrite,
    stream: (streamId) => streams.get(streamId) ?? null,
    all: () => records,
    indexAfter,
    isBoundary: (position) => position === 0n || positions.has(position),
    nextWrite: (signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const done = (): void => {
          signal.removeEventListener('abort', done);
          waiters = waiters.filter((w) => w !== done);
          resolve();
        };
        waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      }),
  };
}

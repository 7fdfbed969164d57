/**
 * The shared contract every event store adapter passes. Uses only the port, so it runs unchanged
 * against SQLite, EventStoreDB and a gRPC stand-in. Every test writes to streams with its own
 * random prefix and reads the global log from the head it saw first (or filters by that prefix),
 * so a shared server with other data still passes.
 *
 * Usage: `eventStoreContract('sqlite', async () => ({ store, cleanup }))` in a *.test.ts file.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EventIdConflict,
  WrongExpectedRevision,
  comparePositions,
  reached,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type From,
  type NewEvent,
  type RecordedEvent,
} from '../../stores/event-store.ts';
import { withTimeout } from '../support/timeout.ts';
import { waitUntil } from '../support/wait.ts';

export type OpenEventStore = () => Promise<{ store: EventStore; cleanup(): Promise<void> }>;

export type EventStoreContractOptions = {
  /** Events in the "many streams" global-order case (10 per stream). Default 10,000. */
  manyEvents?: number;
  /** Bound on every wait in the suite. Default 10 s. */
  waitMs?: number;
};

const metadata = { correlationId: 'corr-1', causationId: 'cause-1', actor: { role: 'test', client: 'contract' }, schemaVersion: 1 };

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});

const events = (n: number, type = 'Counted'): NewEvent[] => Array.from({ length: n }, (_, i) => event(type, { i }));

/** Pulls from the iterator until `n` events satisfying `keep` have arrived. */
const take = async (
  it: AsyncIterator<RecordedEvent>,
  n: number,
  keep: (e: RecordedEvent) => boolean,
  ms: number,
  between: () => Promise<void> = async () => {},
): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  const pull = async (): Promise<void> => {
    while (out.length < n) {
      const r = await it.next();
      if (r.done === true) throw new Error(`subscription ended after ${out.length} of ${n} events`);
      if (keep(r.value)) out.push(r.value);
      await between();
    }
  };
  await withTimeout(pull(), ms, `${n} events from the subscription (got ${out.length})`);
  return out;
};

/** Every event of the global log after `from` (read in pages) that belongs to streams with `prefix`. */
const readAllOf = async (store: EventStore, from: From, prefix: string): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  let cursor = from;
  // Bounded: an adapter that does not move forward (returns the start position again) fails instead of hanging.
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.readAll(cursor, 1000);
    const last = page[page.length - 1];
    if (last === undefined) return out;
    if (comparePositions(last.position, cursor === 'start' ? { commit: -1n, prepare: -1n } : cursor) <= 0) {
      throw new Error('readAll did not move past its start position');
    }
    out.push(...page.filter((e) => e.streamId.startsWith(prefix)));
    cursor = last.position;
  }
  throw new Error('readAll never reached the end of the log');
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected the append to fail');
    },
    (e: unknown) => e,
  );

const expectWrongRevision = async (promise: Promise<unknown>, streamId: string, expected: ExpectedRevision, actual: number): Promise<void> => {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(WrongExpectedRevision);
  expect(error).toMatchObject({ streamId, expected, actual });
};

const expectStrictlyIncreasing = (list: readonly RecordedEvent[]): void => {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1];
    const cur = list[i];
    if (prev === undefined || cur === undefined) continue;
    expect(comparePositions(prev.position, cur.position)).toBe(-1);
  }
};

export const eventStoreContract = (name: string, open: OpenEventStore, options: EventStoreContractOptions = {}): void => {
  const manyEvents = options.manyEvents ?? 10_000;
  const waitMs = options.waitMs ?? 10_000;

  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;
    let prefix: string;
    const stream = (label: string): string => `${prefix}${label}`;
    const ours = (e: RecordedEvent): boolean => e.streamId.startsWith(prefix);

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      prefix = `contract_${randomUUID().slice(0, 8)}-`;
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('expected revision', () => {
      it("'no_stream' appends to a missing stream and refuses an existing one", async () => {
        const s = stream('a');
        const first = await store.append(s, events(2), 'no_stream');
        expect(first.nextRevision).toBe(1);
        await expectWrongRevision(store.append(s, events(1), 'no_stream'), s, 'no_stream', 1);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it("'any' appends whether or not the stream exists", async () => {
        const s = stream('a');
        expect((await store.append(s, events(1), 'any')).nextRevision).toBe(0);
        expect((await store.append(s, events(2), 'any')).nextRevision).toBe(2);
      });

      it("'stream_exists' refuses a missing stream and appends to an existing one", async () => {
        const s = stream('a');
        await expectWrongRevision(store.append(s, events(1), 'stream_exists'), s, 'stream_exists', -1);
        expect(await store.readStream(s)).toEqual([]);
        await store.append(s, events(1), 'no_stream');
        expect((await store.append(s, events(1), 'stream_exists')).nextRevision).toBe(1);
      });

      it('a number appends only when it is the last revision', async () => {
        const s = stream('a');
        await expectWrongRevision(store.append(s, events(1), 0), s, 0, -1);
        await store.append(s, events(3), 'no_stream');
        await expectWrongRevision(store.append(s, events(1), 1), s, 1, 2);
        await expectWrongRevision(store.append(s, events(1), 5), s, 5, 2);
        expect((await store.append(s, events(2), 2)).nextRevision).toBe(4);
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
      });

      it('a refused append writes nothing', async () => {
        const s = stream('a');
        await store.append(s, events(1), 'no_stream');
        const head = await store.headPosition();
        if (head === null) throw new Error('no head after an append');
        await rejection(store.append(s, events(3), 7));
        expect(await store.readStream(s)).toHaveLength(1);
        expect(await readAllOf(store, head, prefix)).toEqual([]);
      });
    });

    describe('idempotent retry', () => {
      it('the same ids at the same expected revision answer like the first append and add nothing', async () => {
        const s = stream('a');
        const batch = events(2);
        const first = await store.append(s, batch, 'no_stream');
        const head = await store.headPosition();
        if (head === null) throw new Error('no head after an append');
        expect(await store.append(s, batch, 'no_stream')).toEqual(first);
        expect(await readAllOf(store, head, prefix)).toEqual([]);

        const next = [event('Next')];
        const second = await store.append(s, next, 1);
        expect(await store.append(s, next, 1)).toEqual(second);
        // An older retry still answers like its first append after the stream moved on.
        expect(await store.append(s, batch, 'no_stream')).toEqual(first);

        const read = await store.readStream(s);
        expect(read.map((e) => e.id)).toEqual([...batch, ...next].map((e) => e.id));
        expect(reached(await store.headPosition(), second.position)).toBe(true);
      });

      it("a retry with 'any' answers like the first append", async () => {
        const s = stream('a');
        const batch = events(3);
        await store.append(s, events(1), 'any');
        const first = await store.append(s, batch, 'any');
        expect(await store.append(s, batch, 'any')).toEqual(first);
        expect(await store.readStream(s)).toHaveLength(4);
      });

      it('the same ids with other content are a conflict, not a retry: refused, nothing written', async () => {
        const s = stream('a');
        const first = event('Decided', { attempt: 'a1' });
        await store.append(s, [first], 'no_stream');
        const head = await store.headPosition();
        if (head === null) throw new Error('no head after an append');
        // Another writer derived the same id from the same state, with other facts (another type, other data).
        const otherData = { ...first, data: { attempt: 'a2' } };
        const otherType = { ...first, type: 'Refused' };
        for (const other of [otherData, otherType]) {
          const error = await rejection(store.append(s, [other], 'no_stream'));
          expect(error).toBeInstanceOf(EventIdConflict);
          expect(error).toMatchObject({ streamId: s, eventId: first.id });
        }
        // Key order is not content: the same data in another order is the same event.
        const reordered = event('Pair', { b: 2, a: 1 });
        const r = await store.append(s, [reordered], 0);
        expect(await store.append(s, [{ ...reordered, data: { a: 1, b: 2 } }], 0)).toEqual(r);
        expect((await store.readStream(s)).map((e) => e.data)).toEqual([{ attempt: 'a1' }, { b: 2, a: 1 }]);
        expect((await readAllOf(store, head, prefix)).map((e) => e.id)).toEqual([reordered.id]);
      });

      it('the same ids at another expected revision are a wrong expected revision', async () => {
        const s = stream('a');
        await store.append(s, events(2), 'no_stream');
        const later = [event('Later')];
        await store.append(s, later, 1);
        await expectWrongRevision(store.append(s, later, 0), s, 0, 2);
        expect(await store.readStream(s)).toHaveLength(3);
      });
    });

    it('concurrent writers at the same expected revision: exactly one wins each revision', async () => {
      const s = stream('contended');
      const winners: string[] = [];
      for (let round = 0; round < 3; round++) {
        const expected: ExpectedRevision = round === 0 ? 'no_stream' : round - 1;
        const attempts = Array.from({ length: 20 }, () => event('Attempted', { round }));
        const settled = await Promise.allSettled(attempts.map((e) => store.append(s, [e], expected)));
        const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [{ result: r.value, id: attempts[i]?.id }] : []));
        expect(won).toHaveLength(1);
        expect(won[0]?.result.nextRevision).toBe(round);
        if (won[0]?.id !== undefined) winners.push(won[0].id);
        for (const r of settled) {
          if (r.status === 'fulfilled') continue;
          expect(r.reason).toBeInstanceOf(WrongExpectedRevision);
          expect(r.reason).toMatchObject({ streamId: s, expected, actual: round });
        }
      }
      expect((await store.readStream(s)).map((e) => e.id)).toEqual(winners);
    });

    describe('reads', () => {
      it('a missing stream reads as []', async () => {
        expect(await store.readStream(stream('missing'))).toEqual([]);
        expect(await store.readStream(stream('missing'), { from: 3, limit: 1 })).toEqual([]);
      });

      it('a slice reads the events from a revision on, at most `limit` of them, the same as the whole read', async () => {
        const s = stream('a');
        await store.append(s, events(3), 'no_stream');
        await store.append(s, events(2, 'Later'), 2);
        const all = await store.readStream(s);
        expect(all.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
        expect(await store.readStream(s, { from: 0 })).toEqual(all);
        expect(await store.readStream(s, { from: 2 })).toEqual(all.slice(2));
        expect(await store.readStream(s, { from: 4 })).toEqual(all.slice(4));
        expect(await store.readStream(s, { limit: 1 })).toEqual(all.slice(0, 1));
        expect(await store.readStream(s, { from: 1, limit: 3 })).toEqual(all.slice(1, 4));
        expect(await store.readStream(s, { from: 3, limit: 10 })).toEqual(all.slice(3));
      });

      it('a slice past the last revision reads as []: nothing appended since', async () => {
        const s = stream('a');
        await store.append(s, events(2), 'no_stream');
        expect(await store.readStream(s, { from: 2 })).toEqual([]);
        await store.append(s, events(1), 1);
        expect((await store.readStream(s, { from: 2 })).map((e) => e.revision)).toEqual([2]);
      });

      it('a slice with bounds that are not whole numbers in range is refused', async () => {
        const s = stream('a');
        await store.append(s, events(1), 'no_stream');
        for (const slice of [{ from: -1 }, { from: 1.5 }, { from: Number.NaN }, { limit: 0 }, { limit: -2 }, { limit: 2.5 }]) {
          await expect(store.readStream(s, slice), JSON.stringify(slice)).rejects.toThrow(RangeError);
        }
      });

      it('events round-trip: id, type, data, metadata, stream, revision, position', async () => {
        const s = stream('a');
        const sent: NewEvent[] = [
          event('OrderPlaced', {
            orderId: 'o-1',
            amount: { value: 1999, currency: 'CNY' },
            note: '频道包 ✓',
            nested: { list: [1, 'two', null], flag: true },
          }),
          { ...event('PaymentRequested', {}), metadata: { ...metadata, actor: { role: 'system', client: 'reactor' }, schemaVersion: 2 } },
        ];
        const result = await store.append(s, sent, 'no_stream');
        const read = await store.readStream(s);
        expect(read).toHaveLength(2);
        read.forEach((e, i) => {
          const original = sent[i];
          expect(e).toMatchObject({ id: original?.id, type: original?.type, data: original?.data, metadata: original?.metadata });
          expect(e.streamId).toBe(s);
          expect(e.revision).toBe(i);
          expect(e.recordedAt).toBeInstanceOf(Date);
          expect(Number.isNaN(e.recordedAt.getTime())).toBe(false);
        });
        expect(read[1]?.position).toEqual(result.position);
        expectStrictlyIncreasing(read);
      });

      it('readAll is in commit order, from a position exclusive, and honours the limit', async () => {
        const head = await store.headPosition();
        const from: From = head ?? 'start';
        const a = stream('a');
        const b = stream('b');
        await store.append(a, events(2), 'no_stream');
        await store.append(b, events(3), 'no_stream');
        await store.append(a, events(1), 1);
        const all = await readAllOf(store, from, prefix);
        expect(all.map((e) => `${e.streamId.slice(prefix.length)}:${e.revision}`)).toEqual(['a:0', 'a:1', 'b:0', 'b:1', 'b:2', 'a:2']);
        expectStrictlyIncreasing(all);

        const third = all[2];
        if (third === undefined) throw new Error('missing event');
        const after = await readAllOf(store, third.position, prefix);
        expect(after.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));

        const limited = await store.readAll(from, 2);
        expect(limited.length).toBeLessThanOrEqual(2);
        expect(reached(await store.headPosition(), all[5]?.position ?? null)).toBe(true);
      });

      it('readAll from start sees our events in order', async () => {
        const s = stream('a');
        const sent = events(3);
        await store.append(s, sent, 'no_stream');
        const all = await readAllOf(store, 'start', prefix);
        expect(all.map((e) => e.id)).toEqual(sent.map((e) => e.id));
      });

      it(`${manyEvents} events over ${manyEvents / 10} streams read back in global order, each exactly once`, async () => {
        const from: From = (await store.headPosition()) ?? 'start';
        const streams = Array.from({ length: Math.ceil(manyEvents / 10) }, (_, i) => stream(`many-${i}`));
        const results: AppendResult[] = [];
        for (let round = 0; round < 10; round++) {
          const expected: ExpectedRevision = round === 0 ? 'no_stream' : round - 1;
          for (let chunk = 0; chunk < streams.length; chunk += 250) {
            const part = streams.slice(chunk, chunk + 250);
            results.push(...(await Promise.all(part.map((s, i) => store.append(s, [event('Counted', { stream: chunk + i, round })], expected)))));
          }
        }
        expect(results).toHaveLength(streams.length * 10);

        const all = await readAllOf(store, from, prefix);
        expect(all).toHaveLength(streams.length * 10);
        expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
        expectStrictlyIncreasing(all);
        const nextRevision = new Map<string, number>();
        for (const e of all) {
          const expectedRevision = nextRevision.get(e.streamId) ?? 0;
          expect(e.revision).toBe(expectedRevision);
          expect(e.data['round']).toBe(expectedRevision);
          nextRevision.set(e.streamId, expectedRevision + 1);
        }
        expect([...nextRevision.values()].every((n) => n === 10)).toBe(true);
      });
    });

    describe('subscribeAll', () => {
      it('catches up, then receives live events with no gap and no duplicate', async () => {
        const from: From = (await store.headPosition()) ?? 'start';
        const a = stream('a');
        const b = stream('b');
        await store.append(a, events(10), 'no_stream');
        await store.append(b, events(20), 'no_stream');

        const sub = store.subscribeAll(from);
        const it = sub[Symbol.asyncIterator]();
        const caughtUp = await take(it, 30, ours, waitMs);

        const live = take(it, 20, ours, waitMs);
        for (let i = 0; i < 10; i++) {
          await Promise.all([store.append(a, events(1), 9 + i), store.append(b, [event('Live')], 19 + i)]);
        }
        const received = [...caughtUp, ...(await live)];
        await sub.close();

        const expected = await readAllOf(store, from, prefix);
        expect(received.map((e) => e.id)).toEqual(expected.map((e) => e.id));
        expect(received.map((e) => e.position)).toEqual(expected.map((e) => e.position));
        expectStrictlyIncreasing(received);
      });

      it('starts after the given position (exclusive)', async () => {
        const s = stream('a');
        await store.append(s, events(5), 'no_stream');
        const read = await store.readStream(s);
        const third = read[2];
        if (third === undefined) throw new Error('missing event');
        const sub = store.subscribeAll(third.position);
        const got = await take(sub[Symbol.asyncIterator](), 2, ours, waitMs);
        await sub.close();
        expect(got.map((e) => e.id)).toEqual(read.slice(3).map((e) => e.id));
      });

      it('close() ends a pending next() and a for-await loop promptly', async () => {
        const head = await store.headPosition();
        const idle = store.subscribeAll(head ?? 'start');
        const pending = idle[Symbol.asyncIterator]().next();
        await idle.close();
        expect((await withTimeout(pending, 2000, 'pending next() after close')).done).toBe(true);
        expect((await idle[Symbol.asyncIterator]().next()).done).toBe(true);

        const sub = store.subscribeAll(head ?? 'start');
        const seen: RecordedEvent[] = [];
        const loop = (async () => {
          for await (const e of sub) if (ours(e)) seen.push(e);
        })();
        const s = stream('a');
        await store.append(s, events(1), 'no_stream');
        await waitUntil(() => seen.length === 1, 'the live event', { timeoutMs: waitMs, intervalMs: 5 });
        await sub.close();
        await withTimeout(loop, 2000, 'for-await loop after close');
        await store.append(s, events(1), 0);
        expect(seen).toHaveLength(1);
      });

      it('breaking out of for-await closes the subscription', async () => {
        const s = stream('a');
        await store.append(s, events(3), 'no_stream');
        const sub = store.subscribeAll('start');
        let count = 0;
        for await (const e of sub) {
          if (ours(e)) count += 1;
          if (count === 2) break;
        }
        expect(count).toBe(2);
        expect((await sub[Symbol.asyncIterator]().next()).done).toBe(true);
      });

      it('a slow consumer still gets every event in order while writers keep appending', async () => {
        const from: From = (await store.headPosition()) ?? 'start';
        const streams = Array.from({ length: 10 }, (_, i) => stream(`slow-${i}`));
        await Promise.all(streams.map((s) => store.append(s, events(30), 'no_stream')));

        const sub = store.subscribeAll(from);
        const slowly = async (): Promise<void> => {
          for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        };
        const consumed = take(sub[Symbol.asyncIterator](), 600, ours, waitMs * 3, slowly);
        for (let round = 0; round < 30; round++) {
          await Promise.all(streams.map((s) => store.append(s, [event('More', { round })], 29 + round)));
        }
        const received = await consumed;
        await sub.close();

        const expected = await readAllOf(store, from, prefix);
        expect(expected).toHaveLength(600);
        expect(received.map((e) => e.id)).toEqual(expected.map((e) => e.id));
        expectStrictlyIncreasing(received);
      });
    });
  });
};

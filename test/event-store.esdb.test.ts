/**
 * The EventStoreDB adapter against: the wire-level stand-in with BatchAppend advertised, the
 * stand-in without it (the client then appends with Streams.Append), and a real server when
 * EVENTSTORE_URL is set. Then adapter-specific cases the contract cannot see from the port.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { WrongExpectedRevision, comparePositions, type EventStore, type NewEvent, type RecordedEvent } from '../stores/event-store.ts';
import { eventStoreContract } from './contracts/event-store.contract.ts';
import { startEsdbStandIn, type EsdbStandIn } from './support/esdb-standin/server.ts';
import { withTimeout } from './support/timeout.ts';

const openOnStandIn = (batchAppend: boolean) => async () => {
  const standIn = await startEsdbStandIn({ batchAppend });
  const store = await openEsdbEventStore(standIn.connectionString);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await standIn.close();
    },
  };
};

eventStoreContract('esdb over the stand-in, BatchAppend', openOnStandIn(true), { manyEvents: 2_000 });
eventStoreContract('esdb over the stand-in, Append only', openOnStandIn(false), { manyEvents: 2_000 });

const realUrl = process.env['EVENTSTORE_URL'];
describe.skipIf(realUrl === undefined)('real EventStoreDB (EVENTSTORE_URL)', () => {
  eventStoreContract('esdb on EVENTSTORE_URL', async () => {
    const store = await openEsdbEventStore(realUrl ?? '');
    return { store, cleanup: () => store.close() };
  });
});

const metadata = { correlationId: 'c', causationId: 'c', actor: { role: 'test', client: 'esdb' }, schemaVersion: 1 };
const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ id: randomUUID(), type, data, metadata });

const take = async (it: AsyncIterator<RecordedEvent>, n: number): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done === true) throw new Error(`subscription ended after ${out.length} events`);
    out.push(r.value);
  }
  return out;
};

for (const batchAppend of [true, false]) {
  describe(`esdb adapter specifics (stand-in, batchAppend=${batchAppend})`, () => {
    let standIn: EsdbStandIn;
    let store: EventStore;

    beforeEach(async () => {
      standIn = await startEsdbStandIn({ batchAppend });
      store = await openEsdbEventStore(standIn.connectionString);
    });
    afterEach(async () => {
      await store.close();
      await standIn.close();
    });

    it('uses the append path the server advertises', async () => {
      await store.append('order-1', [event('OrderPlaced')], 'no_stream');
      expect(standIn.calls).toEqual(batchAppend ? { append: 0, batchAppend: 1 } : { append: 1, batchAppend: 0 });
    });

    it('positions have gaps, yet compare in commit order and page correctly', async () => {
      for (let i = 0; i < 5; i++) await store.append(`order-${i}`, [event('OrderPlaced', { i }), event('Noted', { i })], 'no_stream');
      const raw = standIn.records().map((r) => r.position);
      // The stand-in really leaves gaps, unevenly: an adapter doing +1 would miss or repeat.
      expect(new Set(raw.slice(1).map((p, i) => p - (raw[i] ?? 0n))).size).toBeGreaterThan(1);
      expect(raw.slice(1).every((p, i) => p - (raw[i] ?? 0n) > 1n)).toBe(true);

      const all = await store.readAll('start', 100);
      expect(all.map((e) => e.position.commit)).toEqual(raw);
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1], all[i]];
        if (!a || !b) continue;
        expect(comparePositions(a.position, b.position)).toBe(-1);
        expect(comparePositions(b.position, a.position)).toBe(1);
        expect(comparePositions(a.position, { ...a.position })).toBe(0);
      }
      // Paging by the last position seen, one event at a time, yields each event exactly once.
      const paged: RecordedEvent[] = [];
      let cursor: RecordedEvent['position'] | 'start' = 'start';
      for (;;) {
        const page = await store.readAll(cursor, 1);
        const last = page[0];
        if (!last) break;
        paged.push(last);
        cursor = last.position;
      }
      expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
      expect(await store.headPosition()).toEqual(all.at(-1)?.position);
    });

    it('a position that is not an event boundary is refused by the server, not silently rounded', async () => {
      const { position } = await store.append('order-1', [event('OrderPlaced')], 'no_stream');
      await expect(store.readAll({ commit: position.commit + 1n, prepare: position.prepare + 1n }, 10)).rejects.toThrow();
    });

    it('system events ($-typed) are excluded from readAll, headPosition and subscribeAll', async () => {
      const sub = store.subscribeAll('start');
      const iterator = sub[Symbol.asyncIterator]();
      standIn.appendRaw('$stats-127.0.0.1:2113', [{ type: '$statsCollected' }]);
      await store.append('order-1', [event('OrderPlaced')], 'no_stream');
      // Many system events in a row: more than one filter window (32) and one read page (256).
      standIn.appendRaw(
        '$scavenges',
        Array.from({ length: 300 }, () => ({ type: '$scavengeStarted' })),
      );
      standIn.appendRaw('$$order-1', [{ type: '$metadata', data: { $maxCount: 10 } }]);
      await store.append('order-2', [event('OrderPlaced')], 'no_stream');
      standIn.appendRaw('$settings', [{ type: '$settings' }]);

      const all = await store.readAll('start', 10);
      expect(all.map((e) => `${e.streamId}/${e.type}`)).toEqual(['order-1/OrderPlaced', 'order-2/OrderPlaced']);
      expect(await store.readAll('start', 1)).toHaveLength(1);
      const first = all[0];
      if (!first) throw new Error('missing event');
      expect((await store.readAll(first.position, 10)).map((e) => e.streamId)).toEqual(['order-2']);
      // The log ends with a system event; the head is the last event of ours.
      expect(await store.headPosition()).toEqual(all[1]?.position);

      const got = await withTimeout(take(iterator, 2), 5_000, 'two events from the subscription');
      expect(got.map((e) => e.streamId)).toEqual(['order-1', 'order-2']);
      await store.append('order-3', [event('OrderPlaced')], 'no_stream');
      const live = await withTimeout(take(iterator, 1), 5_000, 'the live event');
      expect(live.map((e) => e.streamId)).toEqual(['order-3']);
      await sub.close();
    });

    it('headPosition is null on an empty log and on a log of system events only', async () => {
      expect(await store.headPosition()).toBeNull();
      standIn.appendRaw(
        '$scavenges',
        Array.from({ length: 600 }, () => ({ type: '$scavengeStarted' })),
      );
      expect(await store.headPosition()).toBeNull();
      expect(await store.readAll('start', 10)).toEqual([]);
    });

    it('an idempotent retry is answered without a position by the server; the adapter still returns it', async () => {
      const batch = [event('OrderPlaced'), event('PaymentRequested')];
      const first = await store.append('order-1', batch, 'no_stream');
      const retry = await store.append('order-1', batch, 'no_stream');
      expect(retry).toEqual(first);
      expect(standIn.records()).toHaveLength(2);
    });

    it('a partial retry (some ids already there) is a wrong expected revision, and writes nothing', async () => {
      const [a, b] = [event('A'), event('B')];
      await store.append('order-1', [a], 'no_stream');
      const error = await store.append('order-1', [a, b], 'no_stream').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevision);
      expect(error).toMatchObject({ streamId: 'order-1', expected: 'no_stream', actual: 0 });
      expect(standIn.records()).toHaveLength(1);
    });

    it('refuses expected revisions that are not non-negative integers before reaching the server', async () => {
      await expect(store.append('order-1', [event('A')], -1)).rejects.toThrow(RangeError);
      await expect(store.append('order-1', [event('A')], 1.5)).rejects.toThrow(RangeError);
      await expect(store.append('order-1', [], 'any')).rejects.toThrow(RangeError);
      expect(standIn.records()).toHaveLength(0);
    });

    it('events not written through the port (non-JSON or without port metadata) are refused loudly', async () => {
      standIn.appendRaw('order-x', [{ type: 'Foreign', data: { a: 1 } }]);
      await expect(store.readStream('order-x')).rejects.toThrow(/no port metadata/);
    });

    it('recordedAt comes from the server', async () => {
      const before = Date.now();
      await store.append('order-1', [event('OrderPlaced')], 'no_stream');
      const [read] = await store.readStream('order-1');
      const created = standIn.records()[0]?.created ?? 0n;
      expect(read?.recordedAt.getTime()).toBe(Number(created / 10_000n));
      expect(read?.recordedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    });

    it('a closed store refuses work, and close() is idempotent', async () => {
      await store.close();
      await store.close();
      await expect(store.readStream('order-1')).rejects.toThrow(/closed/);
      expect(() => store.subscribeAll('start')).toThrow(/closed/);
    });

    it('close() of the store ends open subscriptions', async () => {
      const sub = store.subscribeAll('start');
      const pending = sub[Symbol.asyncIterator]().next();
      await store.close();
      expect((await withTimeout(pending, 2_000, 'pending next() after store close')).done).toBe(true);
    });

    it('a server that goes away surfaces as an error on the subscription, not a silent end', async () => {
      const sub = store.subscribeAll('start');
      const iterator = sub[Symbol.asyncIterator]();
      await store.append('order-1', [event('OrderPlaced')], 'no_stream');
      await withTimeout(take(iterator, 1), 5_000, 'first event');
      const next = iterator.next();
      await standIn.close();
      await expect(withTimeout(next, 5_000, 'next() after the server closed')).rejects.toThrow();
      await sub.close();
    });
  });
}

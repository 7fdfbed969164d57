/**
 * The projection runner on the embedded stores: catch up then live, one commit per
 * event with its checkpoint, resume after a restart, rebuild from the start, one
 * active consumer per projection, and a failing handler that stops rather than skips.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareProjections, startProjection, type RunningProjection } from '../../projections/runner.ts';
import type { Projection } from '../../projections/projection.ts';
import type { EventStore, Position } from '../../stores/event-store.ts';
import type { ReadStore } from '../../stores/read-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';

const logger = pino({ level: 'silent' });
let dir: string;
let events: EventStore;
let reads: ReadStore;
const running: RunningProjection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvpay-runner-'));
  events = await openSqliteEventStore(join(dir, 'events.db'));
  reads = openSqliteReadStore(join(dir, 'read.db'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await events.close();
  await reads.close();
  rmSync(dir, { recursive: true, force: true });
});

const meta = { correlationId: 'c', causationId: 'c', actor: { role: 'test', client: 'test' }, schemaVersion: 1 };
let n = 0;
const append = async (stream: string, type = 'Counted'): Promise<Position> =>
  (await events.append(stream, [{ id: crypto.randomUUID(), type, data: { n: ++n }, metadata: meta }], 'any')).position;

/** Counts events per stream, and remembers every event it saw, in order. */
const counter = (name = 'counter', seen: string[] = []): Projection => ({
  name,
  collections: [{ name: `${name}_counts`, indexes: ['count'] }],
  handle: async (event, view) => {
    seen.push(event.id);
    if (event.type !== 'Counted') return [];
    const prev = await view.get(`${name}_counts`, event.streamId);
    const count = typeof prev?.count === 'number' ? prev.count + 1 : 1;
    return [{ kind: 'upsert', collection: `${name}_counts`, doc: { id: event.streamId, count } }];
  },
});

const start = async (p: Projection, owner = 'test-owner', leaseTtlMs?: number): Promise<RunningProjection> => {
  await prepareProjections(reads, [p]);
  const r = startProjection(p, { events, reads, owner, logger, now: () => new Date(), ...(leaseTtlMs !== undefined && { leaseTtlMs }) });
  running.push(r);
  return r;
};

const countOf = async (stream: string, collection = 'counter_counts'): Promise<unknown> => (await reads.get(collection, stream))?.count;

describe('projection runner', () => {
  it('catches up on what is already in the log, then follows live appends', async () => {
    for (let i = 0; i < 5; i++) await append('s-a');
    const r = await start(counter());
    await r.waitFor(await events.headPosition());
    expect(await countOf('s-a')).toBe(5);
    const last = await append('s-a');
    await r.waitFor(last);
    expect(await countOf('s-a')).toBe(6);
    expect(await reads.checkpoint('counter')).toEqual(last);
  });

  it('resumes after a restart exactly after the last committed event: nothing twice, nothing skipped', async () => {
    const seen: string[] = [];
    const first = await start(counter('counter', seen));
    for (let i = 0; i < 3; i++) await append('s-b');
    await first.waitFor(await events.headPosition());
    await first.stop();
    for (let i = 0; i < 4; i++) await append('s-b');
    const second = await start(counter('counter', seen));
    await second.waitFor(await events.headPosition());
    expect(await countOf('s-b')).toBe(7);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(7);
  });

  it('rebuilds from the start after a reset, to the same result', async () => {
    for (let i = 0; i < 4; i++) await append('s-c');
    await append('s-d');
    const first = await start(counter());
    await first.waitFor(await events.headPosition());
    await first.stop();
    const lease = await reads.acquireLease('counter', 'rebuilder', 10_000, new Date());
    if (!lease) throw new Error('the stopped projection released its lease');
    await reads.reset(lease, ['counter_counts']);
    await reads.releaseLease(lease);
    expect(await countOf('s-c')).toBeUndefined();
    expect(await reads.checkpoint('counter')).toBeNull();
    const again = await start(counter());
    await again.waitFor(await events.headPosition());
    expect([await countOf('s-c'), await countOf('s-d')]).toEqual([4, 1]);
  });

  it('runs one active consumer per projection: a second owner waits, then takes over when the first stops', async () => {
    const seenA: string[] = [];
    const seenB: string[] = [];
    const a = await start(counter('counter', seenA), 'owner-a', 600);
    await append('s-e');
    await a.waitFor(await events.headPosition());
    const b = await start(counter('counter', seenB), 'owner-b', 600);
    const second = await append('s-e');
    await a.waitFor(second);
    expect([a.state(), b.state()]).toEqual(['active', 'standby']);
    expect(seenB).toHaveLength(0);
    await a.stop();
    const third = await append('s-e');
    await b.waitFor(third);
    expect(await countOf('s-e')).toBe(3);
    expect(seenB).toHaveLength(1); // b resumed after a's checkpoint: only the third event
  });

  it('a failing handler stops the projection on that event and retries it; it never skips it', async () => {
    let poisonAttempts = 0;
    const seen: string[] = [];
    const flaky: Projection = {
      ...counter('flaky', seen),
      handle: async (event, view) => {
        if (event.type === 'Poison' && ++poisonAttempts <= 2) throw new Error('transient');
        return counter('flaky', seen).handle(event, view);
      },
    };
    const poison = await append('s-f', 'Poison');
    const after = await append('s-f');
    const r = await start(flaky);
    await r.waitFor(after);
    expect(poisonAttempts).toBe(3);
    expect(seen).toEqual([(await events.readStream('s-f'))[0]?.id, (await events.readStream('s-f'))[1]?.id]);
    expect(await reads.checkpoint('flaky')).toEqual(after);
    expect(await countOf('s-f', 'flaky_counts')).toBe(1);
    expect(poison.commit).toBeLessThan(after.commit);
  });

  it('a commit that fails (the store locked) is never skipped: no later commit lands over it, and every event ends applied once', async () => {
    let failures = 1;
    const flaky: ReadStore = {
      ...reads,
      commit: async (lease, at, ops) => {
        if (failures > 0) {
          failures -= 1;
          // It fails while the batch after it is already being handled, as a slow store would.
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('SqliteError: database is locked');
        }
        return reads.commit(lease, at, ops);
      },
    };
    for (let i = 0; i < 5; i++) await append(`s-${i}`);
    // The sixth event's handler queries, which surfaces the failed commit inside the handler.
    await append('s-scan', 'Scan');
    const p: Projection = {
      name: 'scanner',
      collections: [{ name: 'scanner_counts', indexes: ['count'] }],
      handle: async (event, view) => {
        if (event.type === 'Scan') {
          await view.find('scanner_counts', { orderBy: { field: 'count', direction: 'asc' }, limit: 10 });
          return [];
        }
        return counter('scanner').handle(event, view);
      },
    };
    await prepareProjections(flaky, [p]);
    const r = startProjection(p, { events, reads: flaky, owner: 'test-owner', logger, now: () => new Date(), batch: { maxEvents: 3, maxMs: 1e9 } });
    running.push(r);
    await r.waitFor(await events.headPosition());
    const counts = await Promise.all([0, 1, 2, 3, 4].map((i) => countOf(`s-${i}`, 'scanner_counts')));
    expect(counts).toEqual([1, 1, 1, 1, 1]);
  });

  it('waitFor rejects after its timeout when the position is never reached', async () => {
    const r = await start(counter());
    await expect(r.waitFor({ commit: 999_999n, prepare: 999_999n }, 50)).rejects.toThrow(/did not reach/);
  });

  it('stop() finishes the event in hand and leaves the checkpoint at it', async () => {
    const r = await start(counter());
    const positions: Position[] = [];
    for (let i = 0; i < 20; i++) positions.push(await append('s-g'));
    await r.stop();
    const checkpoint = await reads.checkpoint('counter');
    const count = await countOf('s-g');
    // Whatever was committed is consistent: the count equals the number of events up to the checkpoint.
    const upTo = checkpoint ? positions.filter((p) => p.commit <= checkpoint.commit).length : 0;
    expect(count ?? 0).toBe(upTo);
  });
});

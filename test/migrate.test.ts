/**
 * scripts/migrate: the embedded store copied into EventStoreDB (the wire-level
 * stand-in here), in order, with ids, types and metadata; interrupted halfway and
 * resumed, it finishes with no duplicate; the verification digests agree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLog, digestLog, TargetDiverged } from '../scripts/migrate/copy-log.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import type { EventStore, NewEvent, Position } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { startEsdbStandIn, type EsdbStandIn } from './support/esdb-standin/server.ts';

const EVENTS = 100_000;
const PER_APPEND = 10;
const STREAMS = 2_000;

let dir: string;
let source: EventStore;
let standIn: EsdbStandIn;

const meta = (i: number) => ({ correlationId: `corr-${i % 97}`, causationId: `cause-${i}`, actor: { role: 'test', client: 'migrate' }, schemaVersion: 1 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvpay-migrate-'));
  source = await openSqliteEventStore(join(dir, 'events.db'));
  // Streams grow in turns, so the log interleaves them like real traffic.
  const revisions = new Map<string, number>();
  for (let base = 0; base < EVENTS; base += PER_APPEND * 200) {
    await Promise.all(
      Array.from({ length: 200 }, (_, k) => {
        const first = base + k * PER_APPEND;
        const stream = `order-${(first / PER_APPEND) % STREAMS}`;
        const expected = revisions.get(stream) ?? -1;
        revisions.set(stream, expected + PER_APPEND);
        const events: NewEvent[] = Array.from({ length: PER_APPEND }, (_, j) => ({
          id: crypto.randomUUID(),
          type: j % 2 ? 'OrderPaid' : 'OrderPlaced',
          data: { n: first + j, amount: { value: 3800, currency: 'CNY' }, note: '体育包' },
          metadata: meta(first + j),
        }));
        return source.append(stream, events, expected < 0 ? 'no_stream' : expected);
      }),
    );
  }
  standIn = await startEsdbStandIn({ batchAppend: true });
}, 120_000);

afterAll(async () => {
  await source?.close();
  await standIn?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate: embedded store → EventStoreDB', () => {
  it('copies 100,000 events; interrupted halfway and resumed (even from a stale checkpoint), it ends identical with no duplicate', async () => {
    const target = await openEsdbEventStore(standIn.connectionString);
    try {
      const controller = new AbortController();
      const checkpoints: Position[] = [];
      const first = await copyLog(source, target, {
        from: 'start',
        signal: controller.signal,
        onBatch: (p) => {
          if (p.position) checkpoints.push(p.position);
          if (p.copied >= EVENTS / 2) controller.abort();
        },
      });
      expect(first.copied).toBeGreaterThanOrEqual(EVENTS / 2);
      expect(first.copied).toBeLessThan(EVENTS);
      // A crash after appending but before saving the checkpoint resumes from an older one:
      // the events sent again are the store's idempotent no-ops.
      const stale = checkpoints.at(-3);
      if (!stale) throw new Error('expected several batches before the interruption');
      const resumed = await copyLog(source, target, { from: stale, onBatch: () => undefined });
      expect(resumed.copied).toBe(EVENTS);
      expect(resumed.total).toBe(EVENTS);

      const [a, b] = await Promise.all([digestLog(source), digestLog(target)]);
      expect(b.count).toBe(EVENTS);
      expect(b).toEqual(a);
      const sample = (await source.readStream('order-7')).map((e) => [e.id, e.revision, e.type, e.metadata]);
      expect((await target.readStream('order-7')).map((e) => [e.id, e.revision, e.type, e.metadata])).toEqual(sample);
    } finally {
      await target.close();
    }
  }, 300_000);

  it('refuses to copy into a target whose stream disagrees with the source', async () => {
    const other = await startEsdbStandIn({ batchAppend: false });
    const target = await openEsdbEventStore(other.connectionString);
    try {
      await target.append('order-0', [{ id: crypto.randomUUID(), type: 'Other', data: {}, metadata: meta(0) }], 'no_stream');
      await expect(copyLog(source, target, { from: 'start', onBatch: () => undefined, batchSize: 50 })).rejects.toBeInstanceOf(TargetDiverged);
    } finally {
      await target.close();
      await other.close();
    }
  });
});

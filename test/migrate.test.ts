/**
 * scripts/migrate: the embedded store copied into EventStoreDB (the wire-level
 * stand-in here, reached by the CLI over gRPC), in order, with ids, types and
 * metadata; interrupted halfway and resumed, it finishes with no duplicate; the
 * verification digests agree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLog, digestLog, TargetDiverged } from '../scripts/migrate/copy-log.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import type { EventStore, NewEvent, Position } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { startEsdbStandIn, type EsdbStandIn } from './support/esdb-standin/server.ts';
import { waitUntil } from './support/wait.ts';

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

/** Runs `npm run migrate` (the CLI) as a child process (its stderr is no terminal: no progress is drawn). */
const runMigrate = (): { child: ChildProcess; exited: Promise<{ code: number | null; stdout: string; stderr: string }> } => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, EVENTSTORE_URL: standIn.connectionString, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, exited };
};

/** Events copied so far, from the migration's checkpoint (the source's position: its seq). */
const checkpointed = (): number => {
  try {
    return Number(readFileSync(join(dir, 'migrate-checkpoint'), 'utf8').split('/')[0]);
  } catch {
    return 0;
  }
};

describe('npm run migrate: embedded store → EventStoreDB', () => {
  it('moves 100,000 events; interrupted halfway (SIGINT) and run again, it resumes and verifies count and digest, with no duplicate', async () => {
    const run = runMigrate();
    await waitUntil(() => checkpointed() >= EVENTS / 2, 'half of the log copied', { timeoutMs: 240_000, intervalMs: 10 });
    run.child.kill('SIGINT');
    const first = await run.exited;
    expect(first.code).toBe(130);
    expect(first.stdout).toMatch(/^interrupted after \d+\/100000 events; run again to resume/);
    expect(first.stderr).toBe(''); // no progress off a terminal
    const second = await runMigrate().exited;
    expect(second.stdout).toMatch(/^verified: 100000 events, digest [0-9a-f]{16}… identical in both stores/);
    expect(second.code).toBe(0);
    const target = await openEsdbEventStore(standIn.connectionString);
    try {
      const [a, b] = await Promise.all([digestLog(source), digestLog(target)]);
      expect(b).toEqual(a);
      expect(b.count).toBe(EVENTS);
    } finally {
      await target.close();
    }
  }, 300_000);
});

describe('copying the log', () => {
  it('resumed from a stale checkpoint (a crash after appending, before saving it), it sends the same events again and the store keeps one copy', async () => {
    const other = await startEsdbStandIn({ batchAppend: false });
    const target = await openEsdbEventStore(other.connectionString);
    const small = await openSqliteEventStore(join(dir, 'small.db'));
    try {
      for (let i = 0; i < 50; i++) {
        await small.append(`order-${i % 7}`, [{ id: crypto.randomUUID(), type: 'OrderPlaced', data: { i }, metadata: meta(i) }], 'any');
      }
      const checkpoints: Position[] = [];
      const controller = new AbortController();
      await copyLog(small, target, {
        from: 'start',
        batchSize: 5,
        signal: controller.signal,
        onBatch: (p) => {
          if (p.position) checkpoints.push(p.position);
          if (p.copied >= 30) controller.abort();
        },
      });
      const stale = checkpoints.at(-3);
      if (!stale) throw new Error('expected several batches');
      const resumed = await copyLog(small, target, { from: stale, batchSize: 5, onBatch: () => undefined });
      expect(resumed).toMatchObject({ copied: 50, total: 50 });
      expect(await digestLog(target)).toEqual(await digestLog(small));
    } finally {
      await small.close();
      await target.close();
      await other.close();
    }
  });

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

/**
 * Append throughput of the SQLite event store against raw better-sqlite3 on the same disk.
 *
 * (a) our store: 50 concurrent appenders, each appending one event per round to its own stream
 *     with an expected revision ('no_stream', then 0, 1, …) — group commit batches them;
 * (b) raw better-sqlite3: one INSERT per transaction (one fsync per event);
 * (c) raw better-sqlite3: 50 INSERTs per transaction over distinct streams.
 * Same table (EVENTS_SCHEMA), WAL, synchronous=FULL, JSON.stringify per event in every variant.
 * 5 runs (fresh files each); within a run the variants alternate in short slices so they share the
 * disk's conditions; we report the median events/s of each variant.
 * Targets: a >= 3 x b, a >= 0.6 x c.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewEvent } from '../../stores/event-store.ts';
import { EVENTS_SCHEMA, openSqliteEventStore } from '../../stores/sqlite/event-store.ts';

const APPENDERS = 50;
const ROUNDS_GROUPED = 400; // (a) and (c): 20,000 events per run
const ROUNDS_SINGLE = 80; // (b): 4,000 events per run (one fsync each)
const RUNS = 5;
const SLICES = 10; // variants alternate every 1/SLICES of a run

const metadata = { correlationId: 'bench', causationId: 'bench', actor: { role: 'bench', client: 'store' }, schemaVersion: 1 };

/** events[round][appender], made before timing starts. */
const makeEvents = (rounds: number): NewEvent[][] =>
  Array.from({ length: rounds }, (_, round) =>
    Array.from({ length: APPENDERS }, (_, appender) => ({
      id: randomUUID(),
      type: 'PaymentRequested',
      data: { paymentId: `p-${appender}`, orderId: `o-${appender}`, amount: { value: 1999, currency: 'CNY' }, round },
      metadata,
    })),
  );

/** One variant under measurement: `slice(rounds)` appends that many rounds and returns the ms it took. */
type Variant = { slice(rounds: number): Promise<number>; close(): Promise<void> };

/**
 * A variant's `slice` from what it does with a slice's events: the events are made before the clock
 * starts, and each slice carries on the streams' revisions where the last one stopped (`first`).
 */
const timedSlices = (append: (events: NewEvent[][], first: number) => Promise<void> | void): Variant['slice'] => {
  let round = 0;
  return async (rounds) => {
    const events = makeEvents(rounds);
    const first = round;
    round += rounds;
    const start = performance.now();
    await append(events, first);
    return performance.now() - start;
  };
};

const openOurs = async (file: string): Promise<Variant> => {
  const store = await openSqliteEventStore(file);
  return {
    slice: timedSlices(async (events, first) => {
      await Promise.all(
        Array.from({ length: APPENDERS }, async (_, appender) => {
          for (const [r, round] of events.entries()) {
            const event = round[appender];
            if (event === undefined) continue;
            const revision = first + r;
            await store.append(`bench-${appender}`, [event], revision === 0 ? 'no_stream' : revision - 1);
          }
        }),
      );
    }),
    close: () => store.close(),
  };
};

const openRaw = (file: string, perTransaction: 1 | typeof APPENDERS): Variant => {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(EVENTS_SCHEMA);
  const insert = db.prepare<[string, string, number, string, string, string, number]>(
    'INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertOne = (event: NewEvent, appender: number, revision: number): void => {
    insert.run(event.id, `bench-${appender}`, revision, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata), Date.now());
  };
  const insertRound = db.transaction((batch: readonly NewEvent[], revision: number) => {
    for (const [appender, event] of batch.entries()) insertOne(event, appender, revision);
  });
  return {
    slice: timedSlices((events, first) => {
      for (const [r, batch] of events.entries()) {
        if (perTransaction === 1) {
          for (const [appender, event] of batch.entries()) insertOne(event, appender, first + r);
        } else {
          insertRound(batch, first + r);
        }
      }
    }),
    close: async () => {
      db.close();
    },
  };
};

/**
 * One run: fresh files; the three variants take turns in short slices so that they see the same
 * disk conditions (the disk is shared and noisy). Returns events/s per variant.
 */
const oneRun = async (file: () => string): Promise<[number, number, number]> => {
  const variants = [await openOurs(file()), openRaw(file(), 1), openRaw(file(), APPENDERS)] as const;
  const rounds = [ROUNDS_GROUPED / SLICES, ROUNDS_SINGLE / SLICES, ROUNDS_GROUPED / SLICES] as const;
  const ms = [0, 0, 0];
  for (let s = 0; s < SLICES; s++) {
    for (let v = 0; v < 3; v++) ms[v] = (ms[v] ?? 0) + ((await variants[v]?.slice(rounds[v] ?? 0)) ?? 0);
  }
  await Promise.all(variants.map((v) => v.close()));
  const perSecond = (v: number): number => ((rounds[v] ?? 0) * SLICES * APPENDERS * 1000) / (ms[v] ?? 1);
  return [perSecond(0), perSecond(1), perSecond(2)];
};

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);

export const run = async ({ log }: { log: (line: string) => void }): Promise<boolean> => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpay-bench-'));
  try {
    let n = 0;
    const file = (): string => join(dir, `run-${n++}.db`);
    await oneRun(file); // warm-up (JIT, page cache), not measured
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [ra, rb, rc] = await oneRun(file);
      a.push(ra);
      b.push(rb);
      c.push(rc);
    }
    const [ma, mb, mc] = [median(a), median(b), median(c)];
    log(`data directory: ${dir} (temporary, removed afterwards)`);
    log(`(a) event store, ${APPENDERS} concurrent appenders     ${fmt(ma)} events/s  (runs: ${a.map(Math.round).join(', ')})`);
    log(`(b) raw, 1 insert per transaction        ${fmt(mb)} events/s  (runs: ${b.map(Math.round).join(', ')})`);
    log(`(c) raw, ${APPENDERS} inserts per transaction       ${fmt(mc)} events/s  (runs: ${c.map(Math.round).join(', ')})`);
    const vsSingle = ma / mb;
    const vsBatched = ma / mc;
    const passSingle = vsSingle >= 3;
    const passBatched = vsBatched >= 0.6;
    log(`a/c per run: ${a.map((x, i) => (x / (c[i] ?? 1)).toFixed(2)).join(', ')}`);
    log(`a/b = ${vsSingle.toFixed(2)}  (target >= 3.00)  ${passSingle ? 'PASS' : 'FAIL'}`);
    log(`a/c = ${vsBatched.toFixed(2)}  (target >= 0.60)  ${passBatched ? 'PASS' : 'FAIL'}`);
    return passSingle && passBatched;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

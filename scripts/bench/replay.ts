/**
 * `npm run bench -- replay`: how fast every read model is rebuilt from a log of a million events, against
 * the limit of reading that log at all.
 *
 * - Data: a realistic log (replay-log.ts: whole orders, renewals, refunds, failures, as the service writes
 *   them), --events events (default 1,000,000), built once and cached under the OS temp dir.
 * - (a) `npm run rebuild -- --json` as a child process, on a data dir holding that log: all read models in one
 *   pass, then the switch. Its events/s, and its peak RSS at each quarter of the log.
 * - (b) the limit, in this process, in the same run: the same file read page by page with better-sqlite3 and
 *   every event's data and metadata passed to JSON.parse.
 * Runs --runs times (default 3), alternating which goes first; prints each run and the medians.
 * Targets: a/b ≥ 0.5; peak RSS < 300 MB; the last quarter's peak within 10% of the first's (flat).
 */
import { spawn } from 'node:child_process';
import { linkSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { logFile } from './replay-log.ts';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const DEFAULT_EVENTS = 1_000_000;
export const DEFAULT_RUNS = 3;
const PAGE = 2000;
const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 300;

type Rebuilt = {
  events: number;
  seconds: number;
  phases: Record<string, number>;
  eventsPerSecond: number;
  peakRssMb: number;
  peakRssMbByQuarter: number[];
};
type Run = { raw: number; rebuild: Rebuilt };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** (b): events/s of a paged read of the log with JSON.parse of every event's data and metadata. */
const rawRead = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    const page = db.prepare<[number, number], { seq: number; data: string; metadata: string }>('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    const started = performance.now();
    let n = 0;
    let after = 0;
    let parsed = 0;
    for (;;) {
      const rows = page.all(after, PAGE);
      const last = rows.at(-1);
      if (!last) break;
      for (const r of rows) {
        if (JSON.parse(r.data) !== null) parsed++;
        if (JSON.parse(r.metadata) !== null) parsed++;
      }
      n += rows.length;
      after = last.seq;
    }
    if (parsed !== 2 * n) throw new Error('unreachable: an event without data or metadata');
    return n / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
};

/** (a): `npm run rebuild -- --json` on a fresh data dir holding the log. */
const rebuildOnce = async (log: string): Promise<Rebuilt> => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpay-bench-rebuild-'));
  try {
    try {
      linkSync(log, join(dir, 'events.db'));
    } catch {
      copyFileSync(log, join(dir, 'events.db')); // another file system: copy once per run
    }
    // Exactly what an operator runs (package.json sets the rebuild's heap limit).
    const child = spawn('npm', ['run', '--silent', 'rebuild', '--', '--json'], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), DATA_DIR: dir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    if (code !== 0) throw new Error(`rebuild exited with ${code}`);
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Rebuilt;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en');

export type ReplayOptions = { log: (line: string) => void; events: number; runs: number };

export const run = async ({ log, events, runs: RUNS }: ReplayOptions): Promise<boolean> => {
  const file = await logFile(join(tmpdir(), 'tvpay-bench-replay'), { events, spacingMs: 1500 }, log);
  log(`log: ${file}`);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    let raw = 0;
    let rebuilt: Rebuilt;
    if (i % 2 === 0) {
      raw = rawRead(file);
      rebuilt = await rebuildOnce(file);
    } else {
      rebuilt = await rebuildOnce(file);
      raw = rawRead(file);
    }
    runs.push({ raw, rebuild: rebuilt });
    log(
      `run ${i + 1}: (a) rebuild ${fmt(rebuilt.eventsPerSecond)} events/s (${fmt(rebuilt.events)} events, ${rebuilt.seconds.toFixed(1)} s: ` +
        `${Object.entries(rebuilt.phases)
          .map(([phase, s]) => `${phase} ${s.toFixed(1)}`)
          .join(', ')}), ` +
        `peak RSS ${rebuilt.peakRssMb} MB [by quarter ${rebuilt.peakRssMbByQuarter.join(', ')}]; (b) raw ${fmt(raw)} events/s; a/b ${(rebuilt.eventsPerSecond / raw).toFixed(2)}`,
    );
  }
  const ratio = median(runs.map((r) => r.rebuild.eventsPerSecond / r.raw));
  const rss = median(runs.map((r) => r.rebuild.peakRssMb));
  const growth = median(runs.map((r) => (r.rebuild.peakRssMbByQuarter.at(-1) ?? 0) / Math.max(1, r.rebuild.peakRssMbByQuarter[0] ?? 0)));
  log(
    `medians of ${RUNS}: rebuild ${fmt(median(runs.map((r) => r.rebuild.eventsPerSecond)))} events/s, raw ${fmt(median(runs.map((r) => r.raw)))} events/s, ` +
      `a/b ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}); peak RSS ${rss} MB (target < ${TARGET_RSS_MB}); last/first quarter ${growth.toFixed(2)} (flat ≤ 1.10)`,
  );
  return ratio >= TARGET_RATIO && rss < TARGET_RSS_MB && growth <= 1.1;
};

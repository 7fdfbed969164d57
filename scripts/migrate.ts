/**
 * `npm run migrate`: copies the embedded event store (DATA_DIR/events.db) into
 * EventStoreDB (EVENTSTORE_URL), preserving order, ids, types and metadata.
 * Resumable: interrupted (Ctrl-C, crash), run it again and it carries on from its
 * checkpoint (DATA_DIR/migrate-checkpoint); nothing is copied twice. At the end it
 * verifies the event count and a digest of both logs. Stop the service first.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../app/config.ts';
import { runCli } from './cli.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { parsePosition, positionToString, type From } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { copyLog, digestLog, type Progress } from './migrate/copy-log.ts';

const bar = (p: Progress, started: number): string => {
  const width = 30;
  const share = p.total === 0 ? 1 : p.copied / p.total;
  const filled = Math.round(share * width);
  const rate = p.copied / Math.max(0.001, (Date.now() - started) / 1000);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1)}% ${p.copied}/${p.total} events, ${Math.round(rate)} ev/s`;
};

const main = async (): Promise<number> => {
  const config = loadConfig(process.env);
  if (!config.eventstoreUrl) {
    process.stderr.write('migrate: set EVENTSTORE_URL to the EventStoreDB to copy into (and DATA_DIR to the embedded store)\n');
    return 64;
  }
  const sourceFile = join(config.dataDir, 'events.db');
  if (!existsSync(sourceFile)) {
    process.stderr.write(`migrate: no embedded store at ${sourceFile}\n`);
    return 66;
  }
  const checkpointFile = join(config.dataDir, 'migrate-checkpoint');
  const from: From = existsSync(checkpointFile) ? parsePosition(readFileSync(checkpointFile, 'utf8').trim()) : 'start';
  const source = await openSqliteEventStore(sourceFile);
  const target = await openEsdbEventStore(config.eventstoreUrl);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const started = Date.now();
  try {
    if (from !== 'start') process.stderr.write(`resuming after ${positionToString(from)}\n`);
    const result = await copyLog(source, target, {
      from,
      signal: controller.signal,
      onBatch: (p) => {
        if (p.position) {
          // Written atomically: a crash leaves the old or the new checkpoint, never half of one.
          writeFileSync(`${checkpointFile}.tmp`, positionToString(p.position));
          renameSync(`${checkpointFile}.tmp`, checkpointFile);
        }
        process.stderr.write(bar(p, started));
      },
    });
    process.stderr.write('\n');
    if (controller.signal.aborted) {
      process.stdout.write(`interrupted after ${result.copied}/${result.total} events; run again to resume\n`);
      return 130;
    }
    const [a, b] = await Promise.all([digestLog(source), digestLog(target)]);
    if (a.count !== b.count || a.digest !== b.digest) {
      process.stdout.write(`verification FAILED: source ${a.count} events (${a.digest.slice(0, 16)}), target ${b.count} (${b.digest.slice(0, 16)})\n`);
      return 1;
    }
    process.stdout.write(`verified: ${a.count} events, digest ${a.digest.slice(0, 16)}… identical in both stores\n`);
    return 0;
  } finally {
    await source.close();
    await target.close();
  }
};

runCli('migrate', main);

/**
 * `npm run migrate`: copies an event log into another store, preserving order, ids, types and
 * metadata: by default the embedded store (DATA_DIR/events.db) into EventStoreDB (EVENTSTORE_URL).
 * With --encrypt-pii, every phone number still in plain text is sealed on the way with its
 * subscriber's data key (scripts/migrate/seal-pii.ts).
 *
 * Resumable: interrupted (Ctrl-C, crash), run it again and it carries on from its checkpoint
 * (DATA_DIR/migrate-checkpoint, one per source, target and mode); nothing is copied twice. At the end
 * it verifies the event count and a digest of both logs (with --encrypt-pii: of every field but the
 * personal ones, and every sealed number opened again). Stop the service first.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../app/config.ts';
import { privacyConfigOf } from '../app/stores.ts';
import { openPersonalData } from '../app/privacy.ts';
import { runCli } from './cli.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { parsePosition, positionToString, type EventStore, type From } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { copyLog, digestLog, type Progress } from './migrate/copy-log.ts';
import { checkSealed, digestWithoutPii, erasedIn, piiSealer } from './migrate/seal-pii.ts';

const USAGE = `usage: npm run migrate [-- [--encrypt-pii] [--from <events.db | esdb://…>] [--to <file.db | esdb://…>]]

Copies an event log into another store, in order, with its ids, types and metadata; resumable;
verified at the end by the event count and a digest of both logs.

  --from <store>   the log to copy: a SQLite file or an EventStoreDB connection string
                   (default: DATA_DIR/events.db)
  --to <store>     where the copy goes: a new SQLite file or an EventStoreDB connection string
                   (default: EVENTSTORE_URL)
  --encrypt-pii    seal every phone number still in plain text with its subscriber's data key (the key
                   store: MONGODB_URL, or DATA_KEYS_FILE / DATA_DIR/keys.db; wrapped by DATA_KEY_SECRET).
                   Also verified by opening every sealed number again. The source keeps its plain
                   numbers: switch the service to the copy, then destroy the source (docs/privacy.md).
  --help           this text

Stop the service first. Exit codes: 0 verified, 1 verification failed, 64 usage, 66 no source,
130 interrupted (run again to resume).
`;

const isEsdb = (s: string): boolean => /^(esdb|kurrentdb|kdb|esdb\+discover|kurrentdb\+discover):\/\//.test(s);
const openStore = (where: string): Promise<EventStore> => (isEsdb(where) ? openEsdbEventStore(where) : openSqliteEventStore(where));
/** Names a store in messages without its credentials. */
const named = (where: string): string => (isEsdb(where) ? where.replace(/\/\/[^@/]*@/, '//…@') : where);

const bar = (p: Progress, started: number): string => {
  const width = 30;
  const share = p.total === 0 ? 1 : p.copied / p.total;
  const filled = Math.round(share * width);
  const rate = p.copied / Math.max(0.001, (Date.now() - started) / 1000);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1)}% ${p.copied}/${p.total} events, ${Math.round(rate)} ev/s`;
};

const main = async (): Promise<number> => {
  let args;
  try {
    args = parseArgs({
      args: process.argv.slice(2),
      options: { 'encrypt-pii': { type: 'boolean', default: false }, from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 64;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig(process.env);
  const sealing = args['encrypt-pii'];
  const from = args.from ?? join(config.dataDir, 'events.db');
  const to = args.to ?? config.eventstoreUrl;
  if (!to) {
    process.stderr.write('migrate: say where the copy goes: --to <file.db | esdb://…>, or set EVENTSTORE_URL\n');
    return 64;
  }
  if (!isEsdb(from) && !isEsdb(to) && resolve(from) === resolve(to)) {
    process.stderr.write('migrate: --from and --to are the same store; the copy must go into another one\n');
    return 64;
  }
  if (!isEsdb(from) && !existsSync(from)) {
    process.stderr.write(`migrate: no embedded store at ${from}\n`);
    return 66;
  }
  // The plain copy of the embedded store into EVENTSTORE_URL keeps the checkpoint it always had.
  const plainDefault = !sealing && args.from === undefined && args.to === undefined;
  const checkpointFile = join(
    config.dataDir,
    plainDefault ? 'migrate-checkpoint' : `migrate-checkpoint.${createHash('sha256').update(`${from}\n${to}\n${sealing}`).digest('hex').slice(0, 12)}`,
  );
  const resumeFrom: From = existsSync(checkpointFile) ? parsePosition(readFileSync(checkpointFile, 'utf8').trim()) : 'start';
  const source = await openStore(from);
  const target = await openStore(to);
  const privacy = sealing ? await openPersonalData(privacyConfigOf(config), target, () => new Date()) : undefined;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const started = Date.now();
  try {
    if (resumeFrom !== 'start') process.stderr.write(`resuming after ${positionToString(resumeFrom)}\n`);
    const erased = privacy ? await erasedIn(source) : new Set<string>();
    const result = await copyLog(source, target, {
      from: resumeFrom,
      signal: controller.signal,
      ...(privacy && { transform: piiSealer(source, privacy.personalData, erased) }),
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
    const digest = privacy ? digestWithoutPii : digestLog;
    const [a, b] = await Promise.all([digest(source), digest(target)]);
    if (a.count !== b.count || a.digest !== b.digest) {
      process.stdout.write(`verification FAILED: source ${a.count} events (${a.digest.slice(0, 16)}), target ${b.count} (${b.digest.slice(0, 16)})\n`);
      return 1;
    }
    if (privacy) {
      const check = await checkSealed(source, target, privacy.personalData, erased);
      if (check.mismatched.length > 0) {
        process.stdout.write(`verification FAILED: ${check.mismatched.length} of ${check.numbers} phone numbers do not open to the source's: ${check.mismatched.slice(0, 5).join(', ')}\n`);
        return 1;
      }
      process.stdout.write(
        `verified: ${a.count} events, digest of every non-personal field ${a.digest.slice(0, 16)}… identical in both stores; ` +
          `${check.numbers} phone numbers sealed, each opens to the source's (${erased.size} erased subscriber(s) keep none)\n` +
          `${named(to)} holds no phone number in plain text; ${named(from)} still does: switch the service to the copy, then destroy it\n`,
      );
      return 0;
    }
    process.stdout.write(`verified: ${a.count} events, digest ${a.digest.slice(0, 16)}… identical in both stores\n`);
    return 0;
  } finally {
    await source.close();
    await target.close();
    await privacy?.keys.close();
  }
};

runCli('migrate', main);

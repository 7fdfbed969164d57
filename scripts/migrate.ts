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
import { loadConfig } from '../app/config.ts';
import { openEventStoreAt, privacyConfigOf } from '../app/stores.ts';
import { openPersonalData } from '../app/privacy.ts';
import { parsePosition, positionToString, type EventStore, type From } from '../stores/event-store.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, printReport, progress, runScript, unavailable, usageError } from './cli.ts';
import { copyLog, digestLog } from './migrate/copy-log.ts';
import { checkSealed, digestWithoutPii, erasedIn, piiSealer } from './migrate/seal-pii.ts';

const isEsdb = (s: string): boolean => /^(esdb|kurrentdb|kdb|esdb\+discover|kurrentdb\+discover):\/\//.test(s);
/** The store at `where`; an EventStoreDB that does not answer is `unavailable` (69), before anything is copied. */
const openStore = async (where: string): Promise<EventStore> => {
  if (!isEsdb(where)) return openEventStoreAt({ kind: 'sqlite', file: where });
  const store = await openEventStoreAt({ kind: 'esdb', url: where });
  try {
    await store.headPosition();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw unavailable(`EventStoreDB at ${named(where)} is not reachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return store;
};
/** Names a store in messages without its credentials. */
const named = (where: string): string => (isEsdb(where) ? where.replace(/\/\/[^@/]*@/, '//…@') : where);

/** What a run did: the machine report (--json); the text says the same. */
export type MigrateReport =
  | { outcome: 'interrupted'; copied: number; total: number }
  | { outcome: 'verified'; from: string; to: string; events: number; digest: string; encryptPii: false }
  | { outcome: 'verified'; from: string; to: string; events: number; digest: string; encryptPii: true; numbersSealed: number; erasedSubscribers: number }
  | { outcome: 'failed'; from: string; to: string; reason: string };

const formatMigrate = (r: MigrateReport): string => {
  switch (r.outcome) {
    case 'interrupted':
      return `interrupted after ${r.copied}/${r.total} events; run again to resume\n`;
    case 'failed':
      return `verification FAILED: ${r.reason}\n`;
    case 'verified':
      return r.encryptPii
        ? `verified: ${r.events} events, digest of every non-personal field ${r.digest.slice(0, 16)}… identical in both stores; ` +
            `${r.numbersSealed} phone numbers sealed, each opens to the source's (${r.erasedSubscribers} erased subscriber(s) keep none)\n` +
            `${r.to} holds no phone number in plain text; ${r.from} still does: switch the service to the copy, then destroy it\n`
        : `verified: ${r.events} events, digest ${r.digest.slice(0, 16)}… identical in both stores\n`;
    default:
      return r satisfies never;
  }
};

export const migrateScript = defineScript({
  name: 'migrate',
  usage: `usage: npm run migrate -- [--encrypt-pii] [--from <events.db | esdb://…>] [--to <file.db | esdb://…>] [--json]

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
  --json           the outcome as JSON
  --help           this text

Stop the service first.
${EXIT_CODES_HELP}
Exit 0: copied and verified; 1: the verification failed; 69: no source store;
130: interrupted (Ctrl-C, SIGTERM): run it again to resume.`,
  options: {
    'encrypt-pii': { type: 'boolean', default: false },
    from: { type: 'string' },
    to: { type: 'string' },
  },
  main: async (args, io) => {
    const config = loadConfig(io.env);
    const sealing = args['encrypt-pii'];
    const from = args.from ?? join(config.dataDir, 'events.db');
    const to = args.to ?? config.eventstoreUrl;
    if (!to) throw usageError('say where the copy goes: --to <file.db | esdb://…>, or set EVENTSTORE_URL');
    if (!isEsdb(from) && !isEsdb(to) && resolve(from) === resolve(to))
      throw usageError('--from and --to are the same store; the copy must go into another one');
    if (!isEsdb(from) && !existsSync(from)) throw unavailable(`no embedded store at ${from}`);
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
    const abort = (): void => controller.abort();
    process.once('SIGINT', abort);
    process.once('SIGTERM', abort);
    const bar = progress('migrate', io.stderr);
    const report = (r: MigrateReport, code: number): number => {
      bar.end();
      printReport(io, r, args.json, formatMigrate);
      return code;
    };
    const names = { from: named(from), to: named(to) };
    try {
      if (resumeFrom !== 'start') bar.note(`resuming after ${positionToString(resumeFrom)}`);
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
          bar.update(p.copied, p.total);
        },
      });
      if (controller.signal.aborted) return report({ outcome: 'interrupted', copied: result.copied, total: result.total }, EXIT.interrupted);
      bar.note('verifying');
      const digest = privacy ? digestWithoutPii : digestLog;
      const [a, b] = await Promise.all([digest(source), digest(target)]);
      if (a.count !== b.count || a.digest !== b.digest) {
        const reason = `source ${a.count} events (${a.digest.slice(0, 16)}), target ${b.count} (${b.digest.slice(0, 16)})`;
        return report({ outcome: 'failed', ...names, reason }, EXIT.findings);
      }
      if (!privacy) return report({ outcome: 'verified', ...names, events: a.count, digest: a.digest, encryptPii: false }, EXIT.ok);
      const check = await checkSealed(source, target, privacy.personalData, erased);
      if (check.mismatched.length > 0) {
        const reason = `${check.mismatched.length} of ${check.numbers} phone numbers do not open to the source's: ${check.mismatched.slice(0, 5).join(', ')}`;
        return report({ outcome: 'failed', ...names, reason }, EXIT.findings);
      }
      const verified = {
        outcome: 'verified',
        ...names,
        events: a.count,
        digest: a.digest,
        encryptPii: true,
        numbersSealed: check.numbers,
        erasedSubscribers: erased.size,
      } as const;
      return report(verified, EXIT.ok);
    } finally {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
      await source.close();
      await target.close();
      await privacy?.keys.close();
    }
  },
});

runScript(migrateScript, import.meta.url);

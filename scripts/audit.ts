/**
 * `npm run audit`: reads the whole event log (DATA_DIR/events.db, or EVENTSTORE_URL) once and
 * checks it (scripts/audit/audit-log.ts): seals, shape, every event re-decided, money with goods,
 * the journal. Read-only: safe while the service runs.
 */
import { loadConfig } from '../app/config.ts';
import { auditLog } from './audit/audit-log.ts';
import { formatAudit } from './audit/format.ts';
import { EXIT, EXIT_CODES_HELP, printReport, progress, defineScript, runScript } from './cli.ts';
import { openLogStore } from './log-store.ts';

export const auditScript = defineScript({
  name: 'audit',
  usage: `npm run audit -- [--json]

Reads the whole event log (DATA_DIR/events.db, or EVENTSTORE_URL) and checks:
  seals      every LedgerSealed holds; else the first event that differs (changed, deleted, inserted, swapped)
  shape      revisions without gaps, unique ids, every cause before its effect, known event types
  decisions  every order and payment event is one the deciders would record from the state before it
  money      money moves only with its goods: no provisioning without payment, no refund while the
             order holds its channels, no refund above the charge
  journal    the double-entry journal balances every day and agrees with the deciders
Prints the first finding of each stream. Read-only: safe while the service runs.

  --json     the whole report as JSON
  --help

${EXIT_CODES_HELP}`,
  options: {},
  main: async ({ json }, io) => {
    const store = await openLogStore(loadConfig(io.env));
    const bar = progress('audit', io.stderr);
    try {
      const report = await auditLog(store, { onProgress: (n) => bar.update(n) });
      bar.end();
      printReport(io, report, json, formatAudit);
      return report.findings.length === 0 ? EXIT.ok : EXIT.findings;
    } finally {
      await store.close();
    }
  },
});

runScript(auditScript, import.meta.url);

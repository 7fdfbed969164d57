/**
 * `npm run reconcile -- --day 2026-12-01` (or `--file statement.csv`): our payments against the
 * payment platform's daily statement (scripts/reconcile/compare.ts), as finance does every morning.
 * One request for the whole day: the platform is never asked trade by trade. Read-only on both sides.
 */
import { loadConfig } from '../app/config.ts';
import { CliError, EXIT, EXIT_CODES_HELP, printReport, progress, defineScript, runScript, usageError } from './cli.ts';
import { openLogStore } from './log-store.ts';
import { compareDay } from './reconcile/compare.ts';
import { formatCsv, formatReport } from './reconcile/format.ts';
import { replayPayments } from './reconcile/ours.ts';
import { fetchStatement, readStatementFile } from './reconcile/source.ts';
import type { Statement } from '../integrations/statement.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A day that exists on the calendar (2026-13-45 has the shape, not the day). */
const isDay = (d: string): boolean => DAY.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);

export const reconcileScript = defineScript({
  name: 'reconcile',
  usage: `npm run reconcile -- --day <yyyy-mm-dd> | --file <statement.csv> [options]

Reconciles one day (China Standard Time) of our payments (DATA_DIR/events.db, or EVENTSTORE_URL)
with the payment platform's daily statement, line by line and payment by payment:
matched, late (within the grace window), missing_on_our_side, missing_at_platform, amount_differs,
status_differs, refund_mismatch, stranded (money taken, still under review or being refunded here).

  --day <yyyy-mm-dd>     fetch that day's statement from PAYMENT_PLATFORM_URL (GET /statements/{day})
  --file <path>          read a statement file instead (its "# day:" line names the day, or give --day)
  --grace-minutes <n>    how long a result may still be in flight around the day's edge (default 30)
  --stranded-hours <n>   how long taken money may wait for its review or refund before it is stranded (default 24)
  --json                 the whole report as JSON
  --csv                  every item as CSV (class, ids, both sides, detail)
  --help

${EXIT_CODES_HELP}
Exit 0 only when every line and every payment matched; 1 when anything did not.`,
  options: {
    day: { type: 'string' },
    file: { type: 'string' },
    'grace-minutes': { type: 'string', default: '30' },
    'stranded-hours': { type: 'string', default: '24' },
    csv: { type: 'boolean', default: false },
  },
  main: async (o, io) => {
    if (o.day !== undefined && !isDay(o.day)) throw usageError('--day: expected a day, yyyy-mm-dd');
    if (o.day === undefined && o.file === undefined) throw usageError('give --day <yyyy-mm-dd> or --file <statement.csv> (see --help)');
    if (o.json && o.csv) throw usageError('--json and --csv: choose one');
    const grace = Number(o['grace-minutes']);
    if (!Number.isInteger(grace) || grace < 0 || grace > 24 * 60) throw usageError('--grace-minutes: a whole number of minutes, 0…1440');
    const strandedHours = Number(o['stranded-hours']);
    if (!Number.isInteger(strandedHours) || strandedHours < 1) throw usageError('--stranded-hours: a whole number of hours, at least 1');
    const config = loadConfig(io.env);

    let statement: Statement;
    if (o.file !== undefined) statement = await readStatementFile(o.file);
    else {
      const secret = config.paymentPlatformSecrets[0];
      if (!config.paymentPlatformUrl || !secret) {
        throw new CliError(EXIT.config, 'PAYMENT_PLATFORM_URL is not set: give the statement with --file, or point PAYMENT_PLATFORM_URL at the platform');
      }
      statement = await fetchStatement(config.paymentPlatformUrl, secret, o.day ?? '');
    }
    const day = o.day ?? statement.day;
    if (!day) throw usageError(`${o.file} names no day ("# day:" line): give --day`);
    if (statement.day && statement.day !== day) throw usageError(`the statement is for ${statement.day}, not ${day}`);

    const store = await openLogStore(config);
    const bar = progress('reconcile', io.stderr);
    try {
      const { payments } = await replayPayments(store, (n) => bar.update(n));
      bar.end();
      const report = compareDay({ day, statement, payments, now: new Date(), graceMs: grace * 60_000, strandedMs: strandedHours * 3600_000 });
      if (o.csv) io.stdout.write(formatCsv(report));
      else printReport(io, report, o.json, formatReport);
      return report.items.every((i) => i.class === 'matched') ? EXIT.ok : EXIT.findings;
    } finally {
      await store.close();
    }
  },
});

runScript(reconcileScript, import.meta.url);

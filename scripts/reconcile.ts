/**
 * `npm run reconcile [-- --concurrency=N]`: compares the ledger (embedded, or EVENTSTORE_URL) with
 * the payment platform at PAYMENT_PLATFORM_URL, payment by payment (scripts/reconcile/compare.ts),
 * as an operator does every night. Prints a summary and every discrepancy (ids, statuses, fen; never
 * a phone number). Read-only on both sides: safe while the service runs.
 *
 * Exit codes: 0 all matched (pending payments are not discrepancies); 1 any discrepancy, any payment
 * the platform could not be asked about, or a failure; 64 (EX_USAGE) no platform URL configured —
 * the in-process simulator keeps its trades in memory, so there is nothing to reconcile against.
 */
import { join } from 'node:path';
import { loadConfig } from '../http/config.ts';
import { createPaymentPlatformClient } from '../integrations/payment-platform-client.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { runCli } from './cli.ts';
import { reconcile } from './reconcile/compare.ts';
import { formatReport } from './reconcile/format.ts';

const EX_USAGE = 64;

const parseArgs = (argv: readonly string[]): { concurrency: number } | string => {
  let concurrency = 4;
  for (const arg of argv) {
    const m = /^--concurrency=(\d+)$/.exec(arg);
    if (!m) return `unknown argument ${arg} (usage: reconcile [--concurrency=N])`;
    concurrency = Number(m[1]);
    if (concurrency < 1 || concurrency > 64) return '--concurrency: between 1 and 64';
  }
  return { concurrency };
};

const main = async (): Promise<number> => {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`reconcile: ${args}\n`);
    return EX_USAGE;
  }
  const config = loadConfig(process.env);
  const secret = config.paymentPlatformSecrets[0];
  if (!config.paymentPlatformUrl || !secret) {
    process.stderr.write(
      'reconcile: PAYMENT_PLATFORM_URL is not set: with the simulated platform there is nothing to reconcile against ' +
        '(its trades live in the memory of the service process)\n',
    );
    return EX_USAGE;
  }
  const platform = createPaymentPlatformClient({ baseUrl: config.paymentPlatformUrl, secret });
  const store = config.eventstoreUrl ? await openEsdbEventStore(config.eventstoreUrl) : await openSqliteEventStore(join(config.dataDir, 'events.db'));
  try {
    const r = await reconcile(store, platform, { concurrency: args.concurrency });
    process.stdout.write(formatReport(r));
    return r.discrepancies.length === 0 && r.unchecked.length === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
};

runCli('reconcile', main);

/**
 * `npm run audit`: replays the whole event log (embedded, or EVENTSTORE_URL) and checks
 * that every fen is accounted for (scripts/audit/verify-ledger.ts). Prints a summary;
 * exit code 1 when any invariant is violated. Read-only: safe while the service runs.
 */
import { join } from 'node:path';
import { formatMoney } from '../domain/money.ts';
import { loadConfig } from '../http/config.ts';
import { runCli } from './cli.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { auditLog } from './audit/verify-ledger.ts';

const main = async (): Promise<number> => {
  const config = loadConfig(process.env);
  const store = config.eventstoreUrl ? await openEsdbEventStore(config.eventstoreUrl) : await openSqliteEventStore(join(config.dataDir, 'events.db'));
  try {
    const r = await auditLog(store);
    const cny = (fen: number) => formatMoney({ value: fen, currency: 'CNY' });
    process.stdout.write(
      [
        `events replayed: ${r.events}`,
        `orders:   ${JSON.stringify(r.orders)}`,
        `payments: ${JSON.stringify(r.payments)}`,
        `charged ${cny(r.money.charged)}, refunded ${cny(r.money.refunded)}, net ${cny(r.money.net)}, flagged for review ${cny(r.money.underReview)}`,
        `subscribers erased: ${r.erasedSubscribers} (their phone numbers read "erased"; their orders and money are audited as any others)`,
        r.violations.length === 0 ? 'every fen accounted for: no violations' : `${r.violations.length} VIOLATION(S):`,
        ...r.violations.map((v) => `  - ${v}`),
        '',
      ].join('\n'),
    );
    return r.violations.length === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
};

runCli('audit', main);

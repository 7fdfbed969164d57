/**
 * `npm run seal`: appends `LedgerSealed` events over every event after the newest seal
 * (commands/seal-log.ts). The service does the same once a day; running it by hand is safe at
 * any time, also while the service runs. Keep the printed chain head outside the system (finance's
 * records): a seal the log no longer has can only be missed against a copy kept elsewhere.
 */
import { SealChainBroken, sealLog, type SealResult } from '../commands/seal-log.ts';
import { loadConfig } from '../app/config.ts';
import { CliError, EXIT, EXIT_CODES_HELP, printReport, defineScript, runScript } from './cli.ts';
import { openLogStore } from './log-store.ts';

const formatSeal = (r: SealResult): string =>
  [
    ...(r.sealed.length === 0
      ? ['nothing new to seal']
      : r.sealed.map((s) => `sealed events #${s.from}…#${s.to} as seal #${s.sealNo} (last ${s.last.streamId}@${s.last.revision})`)),
    `chain head: seal #${r.head.sealNo}, events #1…#${r.head.to}, chain ${r.head.chain}`,
    '',
  ].join('\n');

export const sealScript = defineScript({
  name: 'seal',
  usage: `npm run seal -- [--json]

Seals the event log (DATA_DIR/events.db, or EVENTSTORE_URL): appends LedgerSealed events to the
stream ledger-seals, each the SHA-256 chain over every event since the previous seal (at most
10,000 events per seal), chained to the previous seal. npm run audit verifies them. Safe while the
service runs; the service also seals once a day. Prints the chain head: keep it somewhere else.

  --json     the seals appended and the chain head as JSON
  --help

${EXIT_CODES_HELP}
Exit 1: the newest seal no longer matches the log (run npm run audit to see where).`,
  options: {},
  main: async ({ json }, io) => {
    const store = await openLogStore(loadConfig(io.env));
    try {
      const result = await sealLog(store, () => new Date());
      printReport(io, result, json, formatSeal);
      return EXIT.ok;
    } catch (err) {
      if (err instanceof SealChainBroken) throw new CliError(EXIT.findings, `${err.message}; run npm run audit`);
      throw err;
    } finally {
      await store.close();
    }
  },
});

runScript(sealScript, import.meta.url);

/**
 * `npm run trail -- --order <id>` (or `--card <smartcardId>`, `--msisdn <number>`): everything that
 * happened to the orders and why, as the causal tree (scripts/trail/collect.ts). Read-only.
 */
import { isMobileNumber } from '../domain/msisdn.ts';
import { loadConfig } from '../app/config.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, printReport, progress, runScript, usageError } from './cli.ts';
import { openExistingPersonalData, openLogStore } from './log-store.ts';
import { collectTrail, type Selector } from './trail/collect.ts';
import { formatTrail } from './trail/format.ts';

export const trailScript = defineScript({
  name: 'trail',
  usage: `npm run trail -- --order <orderId> | --card <smartcardId> | --msisdn <number> [--json]

Everything that happened to an order and why, from the event log (DATA_DIR/events.db, or
EVENTSTORE_URL): each event with its time, actor, correlation and causation, arranged as the causal
tree; under each event the outbound tasks it created, attempt by attempt, with the partners'
answers as they were recorded. --card and --msisdn show every order of the card or phone number.
Phone numbers are shown masked. Read-only.

  --order <orderId>
  --card <smartcardId>
  --msisdn <number>      13800138000 or +8613800138000
  --json                 the trail as JSON (the tree, every event's data)
  --help

${EXIT_CODES_HELP}
Exit 1: no order matches.`,
  options: {
    order: { type: 'string' },
    card: { type: 'string' },
    msisdn: { type: 'string' },
  },
  main: async (o, io) => {
    const given = (['order', 'card', 'msisdn'] as const).filter((k) => o[k] !== undefined);
    if (given.length !== 1) throw usageError('give exactly one of --order, --card, --msisdn (see --help)');
    if (o.msisdn !== undefined && !isMobileNumber(o.msisdn)) throw usageError('--msisdn: a mainland China mobile number, 13800138000 or +8613800138000');
    const selector: Selector = o.order !== undefined ? { order: o.order } : o.card !== undefined ? { card: o.card } : { msisdn: o.msisdn ?? '' };
    const config = loadConfig(io.env);
    const store = await openLogStore(config);
    // Numbers are sealed with each subscriber's key: the trail opens them (masked), or says "erased".
    const { personalData, keys } = await openExistingPersonalData(config, store).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    const bar = progress('trail', io.stderr);
    try {
      const trail = await collectTrail(store, selector, personalData.reveal, (n) => bar.update(n));
      bar.end();
      printReport(io, trail, o.json, formatTrail);
      return trail.orders.length > 0 ? EXIT.ok : EXIT.findings;
    } finally {
      await keys.close();
      await store.close();
    }
  },
});

runScript(trailScript, import.meta.url);

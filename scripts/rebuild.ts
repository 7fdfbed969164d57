/**
 * `npm run rebuild [-- <read model>…] [--json]`: rebuilds read models (all of them when none is named)
 * from the log, in one pass, beside the live ones, then switches to them (projections/rebuild.ts).
 * Safe while the service runs: queries keep reading the old version until the switch, and the
 * service's projections move on to the new version by themselves (docs/read-store.md, "Rebuilds").
 * Progress on stderr (on a terminal only); a summary on stdout (one JSON line with --json).
 * The process reactor is not rebuilt: replaying it is safe but only repeats work. The erasure
 * reactor is: after a key store is restored from a backup, `npm run rebuild -- erasure` destroys
 * again every data key the log says was destroyed (docs/privacy.md).
 * `npm run rebuild` caps the heap (--max-old-space-size=192 in package.json): what a rebuild keeps alive
 * is a few batches; the cap makes V8 collect the rest early, so peak memory stays flat as the log grows.
 */
import { hostname } from 'node:os';
import { loadConfig } from '../app/config.ts';
import { composeCore } from '../app/core.ts';
import { createLogger } from '../http/logger.ts';
import { rebuild, type RebuildPhase } from '../projections/rebuild.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, progress, runScript, usageError } from './cli.ts';
import { requireEventStore } from './log-store.ts';

const REBUILDABLE = ['orders', 'entitlements', 'outbound', 'finance', 'journal', 'subscribers', 'erasure'];

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

const PHASES: Record<RebuildPhase, string> = {
  replay: 'replaying the log',
  index: 'indexing the new versions',
  switch: 'catching up with the live read models and switching',
  drop: 'dropping the old versions',
  done: 'done',
};

export const rebuildScript = defineScript({
  name: 'rebuild',
  usage: `npm run rebuild -- [<read model>…] [--json]

Rebuilds the named read models (all of them when none is named) from the event log in one pass,
beside the live ones, then switches to them. Safe while the service runs.
Read models: ${REBUILDABLE.join(', ')}.

  --json     the summary as one JSON line (events, seconds, versions, events/s, peak RSS)
  --help

${EXIT_CODES_HELP}`,
  options: {},
  positionals: true,
  main: async ({ json }, io, named) => {
    const unknown = named.filter((n) => !REBUILDABLE.includes(n));
    if (unknown.length > 0) throw usageError(`unknown read model ${unknown.join(', ')}; known: ${REBUILDABLE.join(', ')}`);
    const names = named.length > 0 ? [...new Set(named)] : REBUILDABLE;
    const config = loadConfig(io.env);
    // Rebuilding from no log would make an empty store where the operator meant another one.
    requireEventStore(config);
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    // The core alone: a rebuild serves nothing, so it never loads the HTTP server.
    const service = await composeCore(config, logger);
    const bar = progress(`rebuild ${names.join(', ')}`, io.stderr);
    // Peak memory at each quarter of the log: flat when memory does not grow with the log.
    const quarters: number[] = [];
    try {
      const definitions = names.map((name) => {
        const def = service.definitions.find((d) => d.name === name);
        if (!def) throw new Error(`unknown projection ${name}`);
        return def;
      });
      let phase: RebuildPhase = 'replay';
      const result = await rebuild(definitions, {
        events: service.ledger.store,
        reads: service.reads,
        owner: `rebuild/${hostname()}/${process.pid}`,
        now: () => new Date(),
        onProgress: (p) => {
          while (quarters.length < Math.floor(p.fraction * 4)) quarters.push(mb(process.resourceUsage().maxRSS * 1024));
          if (p.phase === 'replay') bar.update(p.events, p.fraction > 0 ? Math.round(p.events / p.fraction) : null);
          else if (p.phase !== phase) bar.note(PHASES[p.phase]);
          phase = p.phase;
        },
      });
      bar.end();
      const peakRssMb = mb(process.resourceUsage().maxRSS * 1024);
      const rate = result.events / Math.max(result.seconds, 0.001);
      const versions = Object.entries(result.versions)
        .map(([n, v]) => `${n} v${v}`)
        .join(', ');
      io.stdout.write(
        json
          ? `${JSON.stringify({ ...result, eventsPerSecond: rate, peakRssMb, peakRssMbByQuarter: quarters })}\n`
          : `rebuilt ${versions}: ${result.events} events in ${result.seconds.toFixed(1)} s (${Math.round(rate)} events/s), peak RSS ${peakRssMb} MB\n`,
      );
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
});

runScript(rebuildScript, import.meta.url);

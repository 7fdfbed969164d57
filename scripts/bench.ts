/**
 * `npm run bench -- [name…]`: runs the named benches (all when none is named), one after another.
 * To add a bench, add an entry to `benches` whose module exports `run({ log, … }): Promise<boolean>`
 * (true when its targets are met); a bench's own options are declared here, parsed with the rest.
 * Exit code 1 when any target is missed.
 */
import type { FlowBenchOptions } from './bench/flow.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, runScript, usageError, wholeNumber } from './cli.ts';

type Log = (line: string) => void;
type BenchOptions = { log: Log; events: number; runs: number; flow: FlowBenchOptions };
type Bench = { describe: string; load: () => Promise<(o: BenchOptions) => Promise<boolean>> };

const benches: Record<string, Bench> = {
  store: { describe: 'event store append throughput vs raw better-sqlite3', load: async () => (await import('./bench/store.ts')).run },
  api: { describe: 'orders through the HTTP command path vs the event store alone', load: async () => (await import('./bench/api.ts')).run },
  flow: {
    describe: 'whole orders over HTTP, service and simulators as processes, vs a plain validated POST',
    load: async () => {
      const { run } = await import('./bench/flow.ts');
      return (o) => run(o.flow, o.log);
    },
  },
  replay: {
    describe: 'every read model rebuilt in one pass over a 1M-event log vs a raw read of that log',
    load: async () => (await import('./bench/replay.ts')).run,
  },
};

export type BenchReport = { passed: boolean; benches: { name: string; passed: boolean; lines: string[] }[] };

export const benchScript = defineScript({
  name: 'bench',
  usage: `npm run bench -- [${Object.keys(benches).join('|')} …] [options]

Runs the named benches (all of them when none is named), each measuring against a limit taken in the
same run on the same disk, and prints each one's figures and PASS or FAIL.
${Object.entries(benches)
  .map(([name, b]) => `  ${name.padEnd(8)} ${b.describe}`)
  .join('\n')}

  --events <n>   replay: events in the log (default 1000000; the log is built once and cached)
  --runs <n>     replay: runs, alternating which side goes first (default 3)
  -c, --concurrency <n>, -n, --orders <n>, --warmup <n>, --limit-requests <n>, --preload <events>, --cpu-prof <dir>, --split
                 flow: subscribers at once (100), orders (5000), warm-up orders (500), requests to the
                 plain POST limit (20000), events preloaded into the store first (0), a CPU profile of the service,
                 and the flow again with the service as two processes splitting its consumers (CONSUMERS)
  --json         the outcome of each bench and its lines as JSON (the lines also go to stderr as they come)
  --help

${EXIT_CODES_HELP}
Exit 1: a bench missed its target.`,
  options: {
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', short: 'c', default: '100' },
    orders: { type: 'string', short: 'n', default: '5000' },
    warmup: { type: 'string', default: '500' },
    'limit-requests': { type: 'string', default: '20000' },
    preload: { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
    split: { type: 'boolean', default: false },
  },
  positionals: true,
  main: async (o, io, requested) => {
    const unknown = requested.filter((name) => !(name in benches));
    if (unknown.length > 0) throw usageError(`unknown bench: ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
    const events = wholeNumber('events', o.events, 1000);
    const runs = wholeNumber('runs', o.runs, 1);
    // Every bench's counts are checked here, so a bad one is a usage error before any bench runs.
    const flow: FlowBenchOptions = {
      concurrency: wholeNumber('concurrency', o.concurrency, 1),
      orders: wholeNumber('orders', o.orders, 1),
      warmup: wholeNumber('warmup', o.warmup, 0),
      limitRequests: wholeNumber('limit-requests', o['limit-requests'], 1),
      preload: wholeNumber('preload', o.preload, 0),
      cpuProf: o['cpu-prof'],
      split: o.split,
    };
    const report: BenchReport = { passed: true, benches: [] };
    for (const name of requested.length > 0 ? [...new Set(requested)] : Object.keys(benches)) {
      const bench = benches[name];
      if (bench === undefined) continue;
      const lines: string[] = [];
      const log: Log = (line) => {
        lines.push(line);
        (o.json ? io.stderr : io.stdout).write(`${line}\n`);
      };
      log(`\n== ${name}: ${bench.describe}`);
      const passed = await (await bench.load())({ log, events, runs, flow });
      report.benches.push({ name, passed, lines: lines.slice(1) });
      report.passed &&= passed;
    }
    if (o.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.passed ? EXIT.ok : EXIT.findings;
  },
});

runScript(benchScript, import.meta.url);

/**
 * `npm run bench [name…]`: runs the named benches (all when none is named), one after another.
 * To add a bench, add an entry to `benches` whose module exports `run(argv): Promise<boolean>`
 * (true when its targets are met). Arguments after the names (those starting with -) go to each
 * bench run: `npm run bench -- flow --orders 1000`. Exit code 1 when any target is missed.
 */
type Bench = { describe: string; load: () => Promise<{ run(argv: readonly string[]): Promise<boolean> }> };

const benches: Record<string, Bench> = {
  store: { describe: 'event store append throughput vs raw better-sqlite3', load: () => import('./bench/store.ts') },
  api: { describe: 'orders through the HTTP command path vs the event store alone', load: () => import('./bench/api.ts') },
  flow: { describe: 'whole orders over HTTP, service and simulators as processes, vs a plain validated POST', load: () => import('./bench/flow.ts') },
  replay: { describe: 'every read model rebuilt in one pass over a 1M-event log vs a raw read of that log', load: () => import('./bench/replay.ts') },
};

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('-'));
const requested = firstOption < 0 ? argv : argv.slice(0, firstOption);
const options = firstOption < 0 ? [] : argv.slice(firstOption);
const unknown = requested.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

let allPassed = true;
for (const name of requested.length > 0 ? requested : Object.keys(benches)) {
  const bench = benches[name];
  if (bench === undefined) continue;
  console.log(`\n== ${name}: ${bench.describe}`);
  const passed = await (await bench.load()).run(options);
  allPassed &&= passed;
}
process.exitCode = allPassed ? 0 : 1;

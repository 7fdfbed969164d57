/**
 * `npm run bench [name…]`: runs the named benches (all when none is named), one after another.
 * To add a bench, add an entry to `benches` whose module exports `run(): Promise<boolean>`
 * (true when its targets are met). Exit code 1 when any target is missed.
 */
type Bench = { describe: string; load: () => Promise<{ run(): Promise<boolean> }> };

const benches: Record<string, Bench> = {
  store: { describe: 'event store append throughput vs raw better-sqlite3', load: () => import('./bench/store.ts') },
  api: { describe: 'orders through the HTTP command path vs the event store alone', load: () => import('./bench/api.ts') },
  replay: { describe: 'every read model rebuilt in one pass over a 1M-event log vs a raw read of that log', load: () => import('./bench/replay.ts') },
};

const requested = process.argv.slice(2);
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
  const passed = await (await bench.load()).run();
  allPassed &&= passed;
}
process.exitCode = allPassed ? 0 : 1;

/**
 * `npm run rebuild -- <read model>…`: rebuilds read models from the start of the log.
 * Takes the projection's lease (so a running service pauses that projection), empties
 * its collections and checkpoint, replays every event, and hands the lease back.
 * The process reactor is not rebuilt: replaying it is safe but only repeats work. The erasure
 * reactor is: after a key store is restored from a backup, `npm run rebuild -- erasure` destroys
 * again every data key the log says was destroyed (docs/privacy.md).
 */
import { hostname } from 'node:os';
import { loadConfig } from '../http/config.ts';
import { runCli } from './cli.ts';
import { compose } from '../http/compose.ts';
import { createLogger } from '../http/logger.ts';
import { startProjection } from '../projections/runner.ts';

const REBUILDABLE = ['orders', 'entitlements', 'tasks', 'finance', 'subscribers', 'erasure'];

const main = async (): Promise<number> => {
  const names = process.argv.slice(2);
  if (names.length === 0 || names.some((n) => !REBUILDABLE.includes(n))) {
    process.stderr.write(`usage: npm run rebuild -- ${REBUILDABLE.join('|')} [more…]\n`);
    return 64;
  }
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const service = await compose(config, logger);
  const owner = `rebuild/${hostname()}/${process.pid}`;
  try {
    for (const name of names) {
      const def = service.definitions.find((d) => d.name === name);
      if (!def) throw new Error(`unknown projection ${name}`);
      const ttl = 15_000;
      const deadline = Date.now() + 4 * ttl;
      let lease = await service.reads.acquireLease(name, owner, ttl, new Date());
      while (!lease && Date.now() < deadline) {
        process.stdout.write(`${name}: waiting for the running consumer to hand over its lease…\n`);
        await new Promise((r) => setTimeout(r, ttl / 3));
        lease = await service.reads.acquireLease(name, owner, ttl, new Date());
      }
      if (!lease) throw new Error(`${name}: the lease is held by a running service; stop it or try again`);
      await service.reads.reset(lease, def.collections.map((c) => c.name));
      await service.reads.releaseLease(lease);
      const started = Date.now();
      const running = startProjection(def, { events: service.ledger.store, reads: service.reads, owner, logger, now: () => new Date() });
      const head = await service.ledger.store.headPosition();
      await running.waitFor(head, 30 * 60_000);
      await running.stop();
      process.stdout.write(`${name}: rebuilt up to the head of the log in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    return 0;
  } finally {
    await service.close();
  }
};

runCli('rebuild', main);

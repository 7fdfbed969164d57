/**
 * The container's HEALTHCHECK: exit 0 when GET /readyz on this container's own port answers 200,
 * else 1 (Docker reads any other code as "reserved"). Uses the service's own configuration, so it
 * asks the port the service listens on.
 *
 *   node dist/scripts/healthcheck.js
 */
import { loadConfig } from '../app/config.ts';

const TIMEOUT_MS = 3_000;

const check = async (): Promise<boolean> => {
  const { port, host } = loadConfig(process.env);
  const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const res = await fetch(`http://${target}:${port}/readyz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.body?.cancel();
  return res.status === 200;
};

check().then(
  (ready) => {
    if (!ready) process.stderr.write('healthcheck: /readyz is not ready\n');
    process.exit(ready ? 0 : 1);
  },
  (err: unknown) => {
    process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

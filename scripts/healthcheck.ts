/**
 * The container's HEALTHCHECK: exit 0 when GET /readyz on this container's own port answers 200,
 * else 1 (Docker reads 1 as "unhealthy" and reserves 2). Uses the service's own configuration, so it
 * asks the port the service listens on.
 *
 *   node dist/scripts/healthcheck.js
 */
import { loadConfig } from '../app/config.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, printReport, runScript } from './cli.ts';

const TIMEOUT_MS = 3_000;

type Health = { ready: boolean; url: string; status: number | null; reason: string | null };

export const healthcheckScript = defineScript({
  name: 'healthcheck',
  usage: `node dist/scripts/healthcheck.js [--json]   (node --import tsx scripts/healthcheck.ts)

Asks GET /readyz of the service on this machine (HOST and PORT, as the service reads them), with a
${TIMEOUT_MS / 1000} s timeout. The image's HEALTHCHECK.

  --json     the answer as JSON (ready, url, status, reason)
  --help

${EXIT_CODES_HELP}
Exit 1: the service is not ready, or does not answer (Docker's "unhealthy").`,
  options: {},
  main: async ({ json }, io) => {
    const { port, host } = loadConfig(io.env);
    const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const url = `http://${target}:${port}/readyz`;
    let health: Health;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      health = { ready: res.status === 200, url, status: res.status, reason: res.status === 200 ? null : `/readyz answered ${res.status}` };
    } catch (err) {
      // Not answering is "unhealthy" (1), not "could not run" (69): that is what Docker needs to hear.
      health = { ready: false, url, status: null, reason: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err) };
    }
    printReport(io, health, json, (h) => (h.ready ? `ready: ${h.url}\n` : ''));
    if (!health.ready && !json) io.stderr.write(`healthcheck: not ready: ${health.reason ?? ''}\n`);
    return health.ready ? EXIT.ok : EXIT.findings;
  },
});

runScript(healthcheckScript, import.meta.url);

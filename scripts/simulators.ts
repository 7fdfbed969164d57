/**
 * The partner simulators (payment platform, BOSS, SMS gateway) as HTTP servers of their own, for the
 * e2e tests, the flow bench and docker-compose. Prints ONE JSON line with their URLs on stdout once
 * listening, e.g. {"platform":"http://127.0.0.1:40001","boss":"…","sms":"…"}, and runs until SIGINT or
 * SIGTERM (then exit 0). Their /_sim/ endpoints show what they received and inject faults
 * (integrations/simulators/). Never a partner in production: the service refuses simulators there.
 */
import { startSimulatorServers, type SimulatorKind } from '../integrations/simulators/http-server.ts';
import { CliError, EXIT, EXIT_CODES_HELP, defineScript, runScript, unavailable, usageError } from './cli.ts';

const KINDS: readonly SimulatorKind[] = ['platform', 'boss', 'sms'];

const isKind = (k: string): k is SimulatorKind => (KINDS as readonly string[]).includes(k);

/** A number from `min` to `max`, or a usage error naming the option. */
const number = (option: string, raw: string, min: number, max: number): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw usageError(`--${option}: a number from ${min} to ${max}`);
  return n;
};

/** node's arguments that run all three simulators on 127.0.0.1, each on a port the OS picks (the e2e tests, the flow bench). */
export const allSimulatorsArgs = (secret: string, bossToken: string): string[] => [
  '--import',
  'tsx',
  'scripts/simulators.ts',
  ...['--kind', 'all', '--port', '0', '--host', '127.0.0.1', '--secret', secret, '--boss-token', bossToken],
];

export const simulatorsScript = defineScript({
  name: 'simulators',
  usage: `npm run simulators -- [options]   (node dist/scripts/simulators.js in the image)

Starts the partner simulators as HTTP servers, prints one JSON line with their URLs on stdout once
they listen, and runs until SIGINT or SIGTERM (exit 0). For tests, benches and demos: never a partner
in production.

  --kind K                  platform, boss, sms or all (default all)
  --port N                  0 (default): the OS picks every port; N: platform N, boss N+1, sms N+2
  --host H                  the address to listen on (default 127.0.0.1)
  --secret S                the platform's signing secret; repeat it to also accept older ones
                            (default PAYMENT_PLATFORM_SECRET; the platform needs one)
  --boss-token T            the bearer token BOSS asks for (default: BOSS asks for none)
  --fail-msisdn-suffix X    the platform fails payments from numbers ending in X (repeatable)
  --refuse-smartcard C      BOSS refuses card C for good (repeatable)
  --seed N, --error-rate R, --latency-ms MS
                            injected faults for every simulator (default 1, 0, 0)
  --help

${EXIT_CODES_HELP}
Exit 69: a port is taken or the address cannot be listened on. Exit 78: the platform has no secret.`,
  options: {
    kind: { type: 'string', default: 'all' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    secret: { type: 'string', multiple: true },
    'boss-token': { type: 'string' },
    'fail-msisdn-suffix': { type: 'string', multiple: true },
    'refuse-smartcard': { type: 'string', multiple: true },
    seed: { type: 'string', default: '1' },
    'error-rate': { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '0' },
  },
  json: false,
  main: async (v, io) => {
    const kinds = v.kind === 'all' ? [...KINDS] : isKind(v.kind) ? [v.kind] : undefined;
    if (!kinds) throw usageError('--kind: platform, boss, sms or all');
    const port = number('port', v.port, 0, 65_533);
    const common = {
      seed: number('seed', v.seed, 0, 2 ** 32),
      errorRate: number('error-rate', v['error-rate'], 0, 1),
      latencyMs: number('latency-ms', v['latency-ms'], 0, 600_000),
    };
    const envSecret = io.env['PAYMENT_PLATFORM_SECRET'];
    const secrets = v.secret ?? (envSecret ? [envSecret] : []);
    if (kinds.includes('platform') && secrets.length === 0)
      throw new CliError(EXIT.config, 'the platform simulator needs --secret (or PAYMENT_PLATFORM_SECRET)');
    const bossToken = v['boss-token'];
    let servers: Awaited<ReturnType<typeof startSimulatorServers>>;
    try {
      servers = await startSimulatorServers({
        kinds,
        host: v.host,
        port,
        platform: { secrets, faults: { ...common, failMsisdnSuffixes: v['fail-msisdn-suffix'] ?? [] } },
        boss: { faults: { ...common, refuseSmartcards: v['refuse-smartcard'] ?? [] }, ...(bossToken ? { token: bossToken } : {}) },
        sms: { faults: common },
      });
    } catch (err) {
      throw unavailable(`cannot listen on ${v.host}: ${err instanceof Error ? err.message : String(err)}`);
    }
    io.stdout.write(`${JSON.stringify(servers.urls)}\n`);
    await new Promise<void>((stopped) => {
      process.once('SIGINT', stopped);
      process.once('SIGTERM', stopped);
    });
    await servers.close();
    return EXIT.ok;
  },
});

runScript(simulatorsScript, import.meta.url);

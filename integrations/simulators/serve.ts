/**
 * CLI: start one or all simulators as HTTP servers and print ONE JSON line with their URLs on stdout
 * once listening, e.g. {"platform":"http://127.0.0.1:40001","boss":"…","sms":"…"}. Runs until SIGINT/SIGTERM.
 *
 *   node --import tsx integrations/simulators/serve.ts --kind all --port 0 --secret s3cret \
 *     [--secret old-secret] [--boss-token t] [--fail-msisdn-suffix 0004] [--refuse-smartcard 8000…] \
 *     [--seed 1] [--error-rate 0.1] [--latency-ms 50] [--host 127.0.0.1]
 *
 * --port 0 lets the OS choose every port; --port N uses N, N+1, N+2 for platform, boss, sms.
 * Without --secret the platform uses PAYMENT_PLATFORM_SECRET, else refuses to start.
 */
import { parseArgs } from 'node:util';
import { startSimulatorServers, type SimulatorKind } from './http-server.ts';

const { values } = parseArgs({
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
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`serve: ${message}\n`);
  process.exit(2);
}

const number = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n)) fail(`--${name} must be a number`);
  return n;
};

const kinds: SimulatorKind[] =
  values.kind === 'all'
    ? ['platform', 'boss', 'sms']
    : values.kind === 'platform' || values.kind === 'boss' || values.kind === 'sms'
      ? [values.kind]
      : fail('--kind must be platform, boss, sms or all');

const envSecret = process.env.PAYMENT_PLATFORM_SECRET; // a CLI of its own, outside the service's composition root
const secrets = values.secret ?? (envSecret ? [envSecret] : []);
if (kinds.includes('platform') && secrets.length === 0) fail('the platform simulator needs --secret (or PAYMENT_PLATFORM_SECRET)');

const common = {
  seed: number('seed', values.seed),
  errorRate: number('error-rate', values['error-rate']),
  latencyMs: number('latency-ms', values['latency-ms']),
};
const bossToken = values['boss-token'];

const servers = await startSimulatorServers({
  kinds,
  host: values.host,
  port: number('port', values.port),
  platform: { secrets, faults: { ...common, failMsisdnSuffixes: values['fail-msisdn-suffix'] ?? [] } },
  boss: { faults: { ...common, refuseSmartcards: values['refuse-smartcard'] ?? [] }, ...(bossToken ? { token: bossToken } : {}) },
  sms: { faults: common },
});
process.stdout.write(`${JSON.stringify(servers.urls)}\n`);

const stop = () => void servers.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

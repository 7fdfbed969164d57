/**
 * `--json` on the scripts that had none (migrate, rewrap-keys, healthcheck, bench): one JSON document on
 * stdout, the same facts as the text, and the exit code of the outcome. Run in this process on a data
 * dir a test ledger wrote (one order placed), and on a port nothing listens on.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../../commands/personal-data.ts';
import { benchScript } from '../../scripts/bench.ts';
import { healthcheckScript } from '../../scripts/healthcheck.ts';
import { migrateScript } from '../../scripts/migrate.ts';
import { rebuildScript } from '../../scripts/rebuild.ts';
import { rewrapKeysScript } from '../../scripts/rewrap-keys.ts';
import { trailScript } from '../../scripts/trail.ts';
import { API_TOKENS, CODE_SECRET, DATA_KEY_SECRET, PLATFORM_SECRET } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { runInProcess } from '../support/run-script.ts';

const NEW_SECRET = 'a-new-data-key-secret-0123456789abcdef0123';

let dir = '';
let env: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvpay-cli-json-'));
  env = { DATA_DIR: dir, API_TOKENS, PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET, CODE_SECRET, DATA_KEY_SECRET, LOG_LEVEL: 'silent' };
  const t = await startTestLedger(env);
  try {
    expect((await t.placeOrder({}, 'cli-json-1')).statusCode).toBe(201);
  } finally {
    await t.close();
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migrate --json', () => {
  it('verified: the outcome, both stores, the count and the digest; exit 0', async () => {
    const to = join(dir, 'copy.db');
    const r = await runInProcess(migrateScript, ['--to', to, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no progress off a terminal
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toEqual({
      outcome: 'verified',
      from: join(dir, 'events.db'),
      to,
      events: expect.any(Number),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      encryptPii: false,
    });
    expect(report['events']).toBeGreaterThan(0);
  });

  it('no source: exit 69 with the reason on stderr, nothing on stdout', async () => {
    const r = await runInProcess(migrateScript, ['--from', join(dir, 'absent.db'), '--to', join(dir, 'other.db'), '--json'], env);
    expect(r).toEqual({ code: 69, stdout: '', stderr: `migrate: no embedded store at ${join(dir, 'absent.db')}\n` });
  });
});

describe('rewrap-keys --json', () => {
  it('the keys rewrapped and the master key that wraps them now; run again, none is left', async () => {
    const rotated = { ...env, DATA_KEY_SECRET: `${NEW_SECRET},${DATA_KEY_SECRET}` };
    const first = await runInProcess(rewrapKeysScript, ['--json'], rotated);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ rewrapped: 1, masterKeyId: masterKey(NEW_SECRET).id });
    const again = await runInProcess(rewrapKeysScript, ['--json'], rotated);
    expect(JSON.parse(again.stdout)).toEqual({ rewrapped: 0, masterKeyId: masterKey(NEW_SECRET).id });
  });

  it('without an event store: exit 69, nothing created', async () => {
    const nowhere = join(dir, 'nowhere');
    const r = await runInProcess(rewrapKeysScript, ['--json'], { ...env, DATA_DIR: nowhere });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`no event store at ${join(nowhere, 'events.db')}`);
  });
});

describe('scripts that must not make what they did not find', () => {
  const made = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);

  it('rewrap-keys with a key store that is not there: exit 69, none made, and never "every key is wrapped"', async () => {
    const wrong = join(dir, 'key.db');
    const r = await runInProcess(rewrapKeysScript, ['--json'], { ...env, DATA_KEY_SECRET: `${NEW_SECRET},${DATA_KEY_SECRET}`, DATA_KEYS_FILE: wrong });
    expect(r).toMatchObject({ code: 69, stdout: '' });
    expect(r.stderr).toContain(`no key store at ${wrong}`);
    expect(existsSync(wrong)).toBe(false);
  });

  it('trail on a log copied without its key store or secret: exit 69, and the directory holds only the log afterwards', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'tvpay-cli-trail-'));
    try {
      copyFileSync(join(dir, 'events.db'), join(copy, 'events.db'));
      const { DATA_KEY_SECRET: _secret, ...withoutSecret } = env;
      const r = await runInProcess(trailScript, ['--msisdn', '13800138000'], { ...withoutSecret, DATA_DIR: copy });
      expect(r.code, r.stderr).toBe(69);
      expect(r.stderr).toContain(`no key store at ${join(copy, 'keys.db')}`);
      expect(made(copy).filter((f) => !f.startsWith('events.db'))).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('migrate to an EventStoreDB that does not answer: exit 69 before anything is copied, its credentials not named', async () => {
    const r = await runInProcess(migrateScript, ['--to', 'esdb://admin:secret-pass@127.0.0.1:1?tls=false', '--json'], env);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain('EventStoreDB at esdb://…@127.0.0.1:1?tls=false is not reachable');
    expect(r.stderr).not.toContain('secret-pass');
  });

  it('rebuild of a DATA_DIR without a log: exit 69, nothing made there', async () => {
    const nowhere = join(dir, 'no-such-dir');
    const r = await runInProcess(rebuildScript, ['orders'], { ...env, DATA_DIR: nowhere });
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain(`no event store at ${join(nowhere, 'events.db')}`);
    expect(made(nowhere)).toEqual([]);
  });
});

describe('healthcheck --json', () => {
  let t: TestLedger | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('nothing listening: exit 1 ("unhealthy"), ready false with the reason', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const port = typeof address === 'object' && address ? address.port : 0;
    const r = await runInProcess(healthcheckScript, ['--json'], { PORT: String(port) });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ready: false,
      url: `http://127.0.0.1:${port}/readyz`,
      status: null,
      reason: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('a ready service: exit 0, ready true, status 200', async () => {
    t = await startTestLedger({}, { process: true });
    const port = new URL(t.url ?? '').port;
    const r = await runInProcess(healthcheckScript, ['--json'], { PORT: port });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ready: true, url: `http://127.0.0.1:${port}/readyz`, status: 200, reason: null });
  });
});

describe('bench', () => {
  it('an unknown bench or a bad --events is a usage error (64) before anything runs', async () => {
    expect(await runInProcess(benchScript, ['nosuch'], {})).toMatchObject({
      code: 64,
      stdout: '',
      stderr: 'bench: unknown bench: nosuch; known: store, api, flow, replay\n',
    });
    expect(await runInProcess(benchScript, ['replay', '--events', 'many'], {})).toMatchObject({
      code: 64,
      stderr: 'bench: --events: a whole number, at least 1000\n',
    });
  });

  it("a bad count for the flow bench is a usage error (64) before any bench runs, not the bench's internal error", async () => {
    for (const [args, stderr] of [
      [['flow', '-n', 'lots'], 'bench: --orders: a whole number, at least 1\n'],
      [['store', 'flow', '--warmup', ''], 'bench: --warmup: a whole number, at least 0\n'],
      [['flow', '-c', '0'], 'bench: --concurrency: a whole number, at least 1\n'],
    ] as const) {
      expect(await runInProcess(benchScript, [...args], {})).toMatchObject({ code: 64, stdout: '', stderr });
    }
  });
});

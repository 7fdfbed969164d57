/**
 * `npm run demo` (scripts/demo.ts) as a user runs it: a child process talking HTTP to a listening
 * service with the whole process running (simulated partners, the test clock), and its exit code
 * and output. Plus the unhappy ends: nothing listening, a real SMS gateway (the code typed in),
 * and no code typed at all.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatorServers, type SimulatorServers } from '../integrations/simulators/http-server.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { TOKENS } from './support/fixtures.ts';
import { waitUntil } from './support/wait.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const DEMO_DEADLINE_MS = 30_000;

type Run = { code: number | null; stdout: string; stderr: string };

/**
 * Runs the demo to its end (killed at a deadline). `onStdout` sees the output so far after each
 * chunk, and may answer on the demo's stdin; without it, stdin is closed at once (no user typing).
 */
const runDemo = (args: string[], onStdout?: (soFar: string, stdin: NodeJS.WritableStream) => void): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT,
      stdio: [onStdout ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (!child.stdout || !child.stderr) throw new Error('spawn: no stdout/stderr pipes');
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_DEADLINE_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (onStdout && child.stdin) onStdout(stdout, child.stdin);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

const tokenFlags = [
  '--token-open-platform',
  TOKENS.openPlatform,
  '--token-phone-app',
  TOKENS.phone,
  '--token-customer-service',
  TOKENS.service,
  '--token-admin',
  TOKENS.admin,
];

/** The service listening on a free port, with the projections, reactors and task worker running. */
const listening = async (env: Record<string, string> = {}): Promise<{ t: TestLedger; url: string }> => {
  const t = await startTestLedger(env, { process: true });
  if (!t.url) throw new Error('the service is not listening on a port');
  return { t, url: t.url };
};

/** A port nothing listens on: bound by the OS, then released. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('npm run demo', () => {
  it('walks the whole flow against a running service and exits 0', async () => {
    const { t, url } = await listening();
    cleanups.push(() => t.close());

    const run = await runDemo(['--url', url, ...tokenFlags]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('sports-month');
    expect(out).toContain('¥38.00');
    expect(out).toMatch(/✓ order placed: [0-9a-f-]{36}/);
    expect(out).toMatch(/✗ wrong code refused: 422, 4 attempts left/);
    expect(out).toContain('✓ confirmed');
    expect(out).toMatch(/✓ paid at /);
    expect(out).toMatch(/✓ provisioned at /);
    expect(out).toMatch(/✓ 体育包 Sports \(1 month\): 5 channels, valid until /);
    expect(out).toContain('CCTV-5 HD · CCTV-5+ HD');
    expect(out).toMatch(/TV: .*已开通/);
    expect(out).toMatch(/@\S+\s+OrderPlaced[\s\S]*@\S+\s+PaymentCodeRejected[\s\S]*@\S+\s+OrderProvisioned/);
    expect(out).toContain('Claim 3');

    // Phone numbers only masked; the one-time code never on the screen.
    expect(out).toContain('138****8000');
    expect(out).not.toContain('13800138000');
    const paymentId = /payment (\S+) is awaiting_confirmation/.exec(out)?.[1];
    expect(paymentId).toBeDefined();
    expect(out).not.toContain(t.codeFor(paymentId ?? ''));

    // What the demo did is what the ledger recorded: one order, provisioned.
    const types = (await t.allEvents()).map((e) => e.type);
    expect(types.filter((x) => x === 'OrderPlaced')).toHaveLength(1);
    expect(types).toContain('OrderProvisioned');
  });

  it('with --json: the narration on stderr, on stdout only what was bought and paid, as JSON', async () => {
    const { t, url } = await listening();
    cleanups.push(() => t.close());

    const run = await runDemo(['--url', url, '--json', ...tokenFlags]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/✓ provisioned at /);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ url, productId: 'sports-month', status: 'provisioned', phone: '138****8000', amount: { value: 3800, currency: 'CNY' } });
    const placed = (await t.allEvents()).find((e) => e.type === 'OrderPlaced');
    expect(report['orderId']).toBe((placed?.data as { orderId?: string } | undefined)?.orderId);
  });

  it('exits 69 (unavailable) with the "run npm start first" hint when nothing listens', async () => {
    const port = await closedPort();

    const run = await runDemo(['--url', `http://127.0.0.1:${port}`]);

    expect(run.code).toBe(69);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('cannot reach the service');
    expect(run.stderr).toContain('npm start');
  });

  it('exits 1 naming the token flags when the service does not know its tokens', async () => {
    const { t, url } = await listening();
    cleanups.push(() => t.close());

    const run = await runDemo(['--url', url]); // the dev tokens; this service has API_TOKENS

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/listing the products: HTTP 401.*--token-/);
    expect(await t.allEvents()).toHaveLength(0);
  });

  describe('with a real SMS gateway (no /v1/dev/sms)', () => {
    const withGateway = async (): Promise<{ t: TestLedger; url: string; gateway: SimulatorServers }> => {
      const gateway = await startSimulatorServers({ kinds: ['sms'] });
      cleanups.push(() => gateway.close());
      const smsUrl = gateway.urls.sms;
      if (!smsUrl) throw new Error('no SMS gateway URL');
      const started = await listening({ SMS_GATEWAY_URL: smsUrl });
      cleanups.push(() => started.t.close());
      return { ...started, gateway };
    };

    it('asks for the code on stdin and goes on with it', async () => {
      const { url, gateway } = await withGateway();
      const codeOnPhone = (): Promise<string> =>
        waitUntil(
          () =>
            gateway.sms
              ?.messages({ msisdn: '13800138000' })
              .map((m) => /验证码(\d{6})/.exec(m.text)?.[1])
              .find((c) => c !== undefined),
          'the code SMS at the gateway',
          { timeoutMs: 10_000, intervalMs: 5 },
        );
      let asked = false;

      // The subscriber reads the SMS on the phone (the gateway) and types the code at the prompt.
      const run = await runDemo(['--url', url, ...tokenFlags], (soFar, stdin) => {
        if (asked || !soFar.includes('the 6-digit code from the SMS:')) return;
        asked = true;
        void codeOnPhone().then(
          (code) => stdin.write(`${code}\n`),
          () => stdin.end(),
        );
      });

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('a real gateway');
      expect(run.stdout).toMatch(/✗ wrong code refused: 422, 4 attempts left/);
      expect(run.stdout).toMatch(/✓ provisioned at /);
      expect(run.stdout).toContain('skipped: a real SMS gateway is configured');
    });

    it('exits 1 when no code is typed (stdin closed)', async () => {
      const { url } = await withGateway();

      const run = await runDemo(['--url', url, ...tokenFlags]);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('no code was entered');
    });
  });
});

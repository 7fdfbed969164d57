import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createIntegrations } from '../../integrations/index.ts';
import { OutboundError } from '../../integrations/ports.ts';
import { verify } from '../../integrations/signature.ts';
import { runChild } from '../support/run-script.ts';

describe('createIntegrations with nothing configured: in-process simulators', () => {
  it('runs the whole contract in-process; notifications go through the injected transport, signed', async () => {
    const delivered: Array<{ url: string; signature: string | undefined; body: string }> = [];
    const integrations = createIntegrations({
      paymentPlatformSecret: 'dev-secret',
      simulators: {
        platform: {
          notifyRetryBaseMs: 1,
          deliver: async (url, headers, body) => {
            delivered.push({ url, signature: headers['x-platform-signature'], body });
            return { status: 200, text: 'success' };
          },
        },
      },
    });
    const { paymentPlatform, boss, sms, simulated } = integrations;
    expect(simulated.platform && simulated.boss && simulated.sms).toBeTruthy();

    const { tradeNo } = await paymentPlatform.createTrade({
      outTradeNo: 'pay-1',
      amount: { value: 3000, currency: 'CNY' },
      msisdn: '13800138000',
      subject: 'Sports',
      notifyUrl: 'http://127.0.0.1:3000/v1/payment-notifications',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    await simulated.platform?.settled();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.url).toBe('http://127.0.0.1:3000/v1/payment-notifications');
    expect(verify(delivered[0]?.signature, delivered[0]?.body ?? '', ['dev-secret'], Date.now() / 1000)).toEqual({ ok: true });
    expect(JSON.parse(delivered[0]?.body ?? '{}')).toMatchObject({ tradeNo, outTradeNo: 'pay-1', status: 'SUCCESS' });
    expect(await paymentPlatform.queryTrade('pay-1')).toMatchObject({ tradeNo, status: 'SUCCESS' });

    // In-process faults throw the same OutboundError the HTTP clients throw.
    simulated.boss?.setFaults({ failNext: 1, refuseSmartcards: ['bad-card'] });
    const ent = { requestId: 'r1', subscriberId: 's', smartcardId: 'card', productId: 'p', channels: ['c'], validFrom: 'a', validUntil: 'b' };
    const err = await boss.openEntitlement(ent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundError);
    expect(err).toMatchObject({ kind: 'retryable', status: 503 });
    expect(await boss.openEntitlement(ent)).toMatchObject({ status: 'ACTIVE' });
    await expect(boss.openEntitlement({ ...ent, requestId: 'r2', smartcardId: 'bad-card' })).rejects.toMatchObject({ kind: 'final', status: 422 });
    expect(simulated.boss?.inspect()).toMatchObject({ calls: 3, distinctRequestIds: 1, refusals: 1 });

    await sms.send({ messageId: 'm', to: { msisdn: '13800138000' }, templateId: 'T1', signName: '有线电视', params: { code: '123456' }, text: 'Code 123456' });
    expect(simulated.sms?.messages({ msisdn: '+8613800138000' }).map((m) => m.text)).toEqual(['Code 123456']);
    integrations.close();
  });

  it('uses the HTTP clients where URLs are configured', () => {
    const i = createIntegrations({
      paymentPlatformSecret: 's',
      paymentPlatformUrl: 'http://127.0.0.1:1',
      bossUrl: 'http://127.0.0.1:1',
      bossToken: 't',
      smsGatewayUrl: 'http://127.0.0.1:1',
    });
    expect(i.simulated).toEqual({});
    expect(() => createIntegrations({ paymentPlatformSecret: 's', bossUrl: 'http://127.0.0.1:1' })).toThrow(/BOSS_TOKEN/);
  });
});

describe('npm run simulators (scripts/simulators.ts)', () => {
  it('prints one JSON line with the URLs once listening, serves them, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/simulators.ts', '--kind', 'all', '--port', '0', '--secret', 'cli-secret'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let exitCode: number | null = null;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`simulators exited with ${code}`)));
      });
      const urls = JSON.parse(line) as Record<string, string>;
      expect(Object.keys(urls).sort()).toEqual(['boss', 'platform', 'sms']);
      for (const u of Object.values(urls)) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${urls.platform}/_sim/faults`);
      expect(await res.json()).toMatchObject({ failNext: 0, dropNotifications: false });
      // The CPU the process has used (a bench's share of the machine): every kind answers for the one process.
      const cpu = async (u: string | undefined) => (await (await fetch(`${u}/_sim/cpu`)).json()) as { userMicros: number; systemMicros: number };
      const first = await cpu(urls.sms);
      expect(first).toEqual({ userMicros: expect.any(Number), systemMicros: expect.any(Number) });
      expect(first.userMicros).toBeGreaterThan(0);
      const later = await cpu(urls.boss);
      expect(later.userMicros + later.systemMicros).toBeGreaterThanOrEqual(first.userMicros + first.systemMicros);
    } finally {
      const exited = new Promise<void>((resolve) =>
        child.once('exit', (code) => {
          exitCode = code;
          resolve();
        }),
      );
      child.kill('SIGTERM');
      await exited;
    }
    expect(exitCode).toBe(0);
  });

  it('refuses what it cannot use, with the exit code that says why: 64 usage, 78 no platform secret, 69 a port taken', async () => {
    // Only PATH in the environment: no PAYMENT_PLATFORM_SECRET from the test run.
    const run = (argv: string[]) => runChild('scripts/simulators.ts', argv, {}, { cwd: process.cwd() });
    expect(await run(['--kind', 'bank'])).toMatchObject({ code: 64, stdout: '', stderr: 'simulators: --kind: platform, boss, sms or all\n' });
    expect(await run(['--latency-ms', 'slow'])).toMatchObject({ code: 64, stderr: 'simulators: --latency-ms: a number from 0 to 600000\n' });
    expect(await run(['--kind', 'platform'])).toMatchObject({
      code: 78,
      stdout: '',
      stderr: 'simulators: configuration: the platform simulator needs --secret (or PAYMENT_PLATFORM_SECRET)\n',
    });
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const r = await run(['--kind', 'sms', '--port', String(port)]);
      expect(r).toMatchObject({ code: 69, stdout: '' });
      expect(r.stderr).toMatch(/^simulators: cannot listen on 127\.0\.0\.1: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createIntegrations } from '../../integrations/index.ts';
import { OutboundError } from '../../integrations/ports.ts';
import { verify } from '../../integrations/signature.ts';

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

describe('serve.ts CLI', () => {
  it('prints one JSON line with the URLs once listening, and serves them', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'integrations/simulators/serve.ts', '--kind', 'all', '--port', '0', '--secret', 'cli-secret'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const urls = JSON.parse(line) as Record<string, string>;
      expect(Object.keys(urls).sort()).toEqual(['boss', 'platform', 'sms']);
      for (const u of Object.values(urls)) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${urls.platform}/_sim/faults`);
      expect(await res.json()).toMatchObject({ failNext: 0, dropNotifications: false });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

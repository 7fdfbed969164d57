import { afterEach, describe, expect, it } from 'vitest';
import { createBossClient } from '../../integrations/boss-client.ts';
import type { OpenEntitlementRequest } from '../../integrations/ports.ts';
import { withRetry } from '../support/retry.ts';
import { defaultBossFaults, type BossInspection } from '../../integrations/simulators/boss.ts';
import { simulatorServer } from '../support/simulator-server.ts';

const TOKEN = 'boss-test-token';
const boss = simulatorServer('boss', { boss: { token: TOKEN } });
const client = (over: { token?: string; timeoutMs?: number } = {}) =>
  createBossClient({ baseUrl: boss.url, token: over.token ?? TOKEN, timeoutMs: over.timeoutMs ?? 2_000 });
const inspect = async (): Promise<BossInspection> => (await (await fetch(`${boss.url}/_sim/entitlements`)).json()) as BossInspection;

let seq = 0;
const request = (over: Partial<OpenEntitlementRequest> = {}): OpenEntitlementRequest => ({
  requestId: `req-${++seq}`,
  subscriberId: 'sub-1',
  smartcardId: `8000${seq}`,
  productId: 'sports-30',
  channels: ['CCTV-5', 'CCTV-5+'],
  validFrom: '2025-01-01T00:00:00.000Z',
  validUntil: '2025-01-31T00:00:00.000Z',
  ...over,
});

afterEach(() => void boss.sim.setFaults(defaultBossFaults));

describe('BOSS client against the simulator', () => {
  it('opens an entitlement; the same requestId again returns the same bossRef and creates nothing', async () => {
    const before = await inspect();
    const req = request();
    const a = await client().openEntitlement(req);
    const b = await client().openEntitlement(req);
    expect(a).toEqual({ bossRef: expect.stringMatching(/^B/), status: 'ACTIVE' });
    expect(b).toEqual(a);
    const after = await inspect();
    expect(after.distinctRequestIds - before.distinctRequestIds).toBe(1);
    expect(after.calls - before.calls).toBe(2);
    expect(after.entitlements.find((e) => e.requestId === req.requestId)).toMatchObject({
      smartcardId: req.smartcardId,
      channels: req.channels,
      status: 'ACTIVE',
    });
  });

  it('422 for a refused card (list or all) is final', async () => {
    const req = request();
    boss.sim.setFaults({ refuseSmartcards: [req.smartcardId] });
    await expect(client().openEntitlement(req)).rejects.toMatchObject({ kind: 'final', status: 422, system: 'boss' });
    await expect(client().openEntitlement(request())).resolves.toMatchObject({ status: 'ACTIVE' });
    boss.sim.setFaults({ refuseAll: true });
    await expect(client().openEntitlement(request())).rejects.toMatchObject({ kind: 'final', status: 422 });
    expect((await inspect()).refusals).toBeGreaterThanOrEqual(2);
  });

  it('failing three times then succeeding: withRetry gets one entitlement from four calls', async () => {
    await fetch(`${boss.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ failNext: 3 }) });
    const before = await inspect();
    const waits: number[] = [];
    const req = request();
    const res = await withRetry(() => client().openEntitlement(req), {
      baseMs: 100,
      maxAttempts: 8,
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
    expect(res.status).toBe('ACTIVE');
    expect(waits).toEqual([50, 100, 200]);
    const after = await inspect();
    expect(after.calls - before.calls).toBe(4);
    expect(after.distinctRequestIds - before.distinctRequestIds).toBe(1);
  });

  it('5xx is retryable, a wrong token is final, a timeout is retryable', async () => {
    boss.sim.setFaults({ errorRate: 1 });
    await expect(client().openEntitlement(request())).rejects.toMatchObject({ kind: 'retryable', status: 503 });
    boss.sim.setFaults({ errorRate: 0, latencyMs: 300 });
    await expect(client({ timeoutMs: 30 }).openEntitlement(request())).rejects.toMatchObject({ kind: 'retryable', status: undefined });
    boss.sim.setFaults({ latencyMs: 0 });
    const err = await client({ token: 'nope' })
      .openEntitlement(request())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'final', status: 401 });
    expect(String(err)).not.toContain('nope');
  });

  it('failStatus: failed calls answer it over HTTP (a 403 is final on our side); out of 400–599 the patch is refused and nothing changes', async () => {
    boss.sim.setFaults({ failNext: 1, failStatus: 403 });
    await expect(client().openEntitlement(request())).rejects.toMatchObject({ kind: 'final', status: 403 });
    await expect(client().openEntitlement(request())).resolves.toMatchObject({ status: 'ACTIVE' });
    for (const failStatus of [200, 302, 600, 403.5]) {
      const res = await fetch(`${boss.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ failStatus }) });
      expect(res.status, String(failStatus)).toBe(400);
    }
    expect(boss.sim.faults().failStatus).toBe(403);
  });

  it('revokes idempotently; an unknown bossRef is a final 404', async () => {
    const { bossRef } = await client().openEntitlement(request());
    await client().revoke(bossRef, { requestId: 'rev-1', reason: 'refunded' });
    await client().revoke(bossRef, { requestId: 'rev-1', reason: 'refunded' });
    expect((await inspect()).entitlements.find((e) => e.bossRef === bossRef)).toMatchObject({ status: 'REVOKED', revokeReason: 'refunded' });
    await expect(client().revoke('B-unknown', { requestId: 'rev-2', reason: 'x' })).rejects.toMatchObject({ kind: 'final', status: 404 });
  });

  it('rejects a malformed body with 400', async () => {
    const res = await fetch(`${boss.url}/entitlements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ requestId: 'r' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

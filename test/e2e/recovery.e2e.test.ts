/**
 * End to end, real processes: what the service does when the outside world misbehaves —
 * a lost notification (recovered by the payment query), BOSS down for a while (retried with
 * backoff), BOSS refusing for good (refund as a compensation) — and an order never confirmed
 * (expiry), on a second service with a short order TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, freshOrderBody, waitForCode, waitForStatus } from './scenarios.ts';
import { freePort, killAll, tempDir } from './processes.ts';
import { ledgerApi } from './http.ts';
import { simApi, startSimulators, type SimApi, type Simulators } from './simulators.ts';
import { startService, type RunningService } from './service.ts';
import { waitUntil } from '../support/wait.ts';

let sims: Simulators;
let sim: SimApi;
let service: RunningService;
let shortTtl: RunningService;
const dirs: Array<{ path: string; remove(): void }> = [];
const api = ledgerApi(() => service.url);
const shortApi = ledgerApi(() => shortTtl.url);

beforeAll(async () => {
  sims = await startSimulators();
  sim = simApi(sims.urls);
  const [a, b] = [tempDir(), tempDir()];
  dirs.push(a, b);
  const [portA, portB] = [await freePort(), await freePort()];
  [service, shortTtl] = await Promise.all([
    // Ask the platform 1 s after submitting; retry BOSS quickly.
    startService({ dataDir: a.path, port: portA, sims: sims.urls, env: { PAYMENT_QUERY_AFTER_SECONDS: '1', RETRY_BASE_MS: '50', RETRY_MAX_ATTEMPTS: '6' } }),
    startService({ dataDir: b.path, port: portB, sims: sims.urls, env: { ORDER_TTL_SECONDS: '2' } }),
  ]);
});

afterAll(async () => {
  await killAll();
  for (const d of dirs) d.remove();
});

const placeAndConfirm = async (l: typeof api, over: Parameters<typeof freshOrderBody>[0] = {}) => {
  const body = freshOrderBody(over);
  const placed = await l.placeOrder(body, `key-${body.subscriberId}`);
  expect(placed.status).toBe(201);
  const code = await waitForCode(sim, body.msisdn);
  const confirmed = await l.confirm(placed.body.paymentId, code);
  expect(confirmed.status).toBe(200);
  return { body, orderId: placed.body.orderId, paymentId: placed.body.paymentId };
};

describe('e2e: recovery from the outside world', () => {
  it('a lost notification is recovered by the payment query: paid (source "query") and provisioned', async () => {
    await sim.faults('platform', { dropNotifications: true });
    let o: Awaited<ReturnType<typeof placeAndConfirm>>;
    try {
      o = await placeAndConfirm(api);
      // The platform settled the trade and "sent" a notification that never left.
      await waitUntil(async () => (await sim.notifications()).some((n) => n.outTradeNo === o.paymentId && n.dropped), 'the dropped notification');
    } finally {
      await sim.faults('platform', { dropNotifications: false });
    }
    await waitForStatus(api, o.orderId, 'provisioned');
    const events = (await api.history(o.orderId)).body.events;
    const succeeded = events.filter((e) => e.type === 'PaymentSucceeded');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]?.data).toMatchObject({ source: 'query', amount: { value: 3800, currency: 'CNY' } });
    expect(countOf(events, 'OrderPaid')).toBe(1);
    expect(countOf(events, 'OrderProvisioned')).toBe(1);
    const ns = (await sim.notifications()).filter((n) => n.outTradeNo === o.paymentId);
    expect(ns.every((n) => n.dropped && n.attempts.length === 0)).toBe(true);
  });

  it('BOSS fails three times, then succeeds: provisioned, the task done on attempt 4', async () => {
    const before = (await sim.boss()).calls;
    await sim.faults('boss', { failNext: 3 });
    const o = await placeAndConfirm(api);
    await waitForStatus(api, o.orderId, 'provisioned');
    const boss = await sim.boss();
    expect(boss.calls - before).toBe(4);
    expect(boss.entitlements.filter((e) => e.smartcardId === o.body.smartcardId)).toHaveLength(1);

    const task = await waitUntil(async () => {
      const r = await api.provisioning({ orderId: o.orderId });
      const t = r.body.items[0];
      return t?.status === 'done' ? t : undefined;
    }, 'the provisioning task to be done');
    expect(task).toMatchObject({ orderId: o.orderId, status: 'done', attempts: 4, lastError: expect.stringContaining('503') });
    const events = (await api.history(o.orderId)).body.events;
    expect(countOf(events, 'OrderProvisioned')).toBe(1);
    expect((await api.provisioning({ status: 'failed' })).body.items.some((t) => t.orderId === o.orderId)).toBe(false);
  });

  it('BOSS refuses the card for good: provisioning_failed, refunded at the platform, SMS about the refund', async () => {
    const smartcardId = freshOrderBody().smartcardId;
    await sim.faults('boss', { refuseSmartcards: [smartcardId] });
    try {
      const o = await placeAndConfirm(api, { smartcardId });
      const order = await waitForStatus(api, o.orderId, 'refunded');
      expect(order.refundNo).toEqual(expect.any(String));
      const refunds = (await sim.refunds()).filter((r) => r.outTradeNo === o.paymentId);
      expect(refunds).toEqual([expect.objectContaining({ amount: { value: 3800, currency: 'CNY' }, status: 'SUCCESS' })]);
      await waitUntil(async () => (await sim.messages({ msisdn: o.body.msisdn })).some((m) => m.text.includes('退款')), 'the refund SMS');
      const task = (await api.provisioning({ orderId: o.orderId })).body.items[0];
      expect(task).toMatchObject({ status: 'failed', attempts: 1 });
      const events = (await api.history(o.orderId)).body.events;
      for (const t of ['OrderPaid', 'OrderProvisioningFailed', 'PaymentRefunded', 'OrderRefunded']) expect(countOf(events, t), t).toBe(1);
      expect(countOf(events, 'OrderProvisioned')).toBe(0);
      expect((await sim.boss()).entitlements.some((e) => e.smartcardId === smartcardId)).toBe(false);
      const ent = await api.entitlements(smartcardId);
      expect(ent.body.entitlements).toEqual([]);
    } finally {
      await sim.faults('boss', { refuseSmartcards: [] });
    }
  });
});

describe('e2e: an order never confirmed (ORDER_TTL_SECONDS=2)', () => {
  it('expires, and its code is of no use afterwards', async () => {
    const body = freshOrderBody();
    const placed = await shortApi.placeOrder(body, `key-${body.subscriberId}`);
    expect(placed.status).toBe(201);
    expect(Date.parse(placed.body.expiresAt) - Date.now()).toBeLessThanOrEqual(2_000);
    const code = await waitForCode(sim, body.msisdn);
    const order = await waitForStatus(shortApi, placed.body.orderId, 'expired', 15_000);
    expect(order.steps).toMatchObject({ expiredAt: expect.any(String) });
    expect((await shortApi.confirm(placed.body.paymentId, code)).status).toBe(409);
    const events = (await shortApi.history(placed.body.orderId)).body.events;
    expect(countOf(events, 'OrderExpired')).toBe(1);
    expect(countOf(events, 'PaymentConfirmed')).toBe(0);
    expect((await sim.trades()).some((t) => t.outTradeNo === placed.body.paymentId)).toBe(false);
  });
});

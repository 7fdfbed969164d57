/**
 * The unhappy paths of the process, in one process with the simulators in-process
 * and a test clock: timers, lost notifications, BOSS retries and refusals, refunds.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { TestLedger } from '../support/ledger-app.ts';
import { ledgerPerTest } from '../support/ledger-per-test.ts';
import { settledTrade } from '../support/platform-notifications.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { stacks } from './stacks.ts';
import { caughtUp, codeFromSms, eventually, historyTypes, orderInStatus, placeAndConfirm, platformSim, bossSim, smsArrives } from './support.ts';

describe.each(stacks)('on $name', (stack) => {
  const ledger = ledgerPerTest(stack, { RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '5', PAYMENT_QUERY_AFTER_SECONDS: '120' });
  let t: TestLedger;
  beforeEach(() => {
    t = ledger();
  });

  const platform = () => platformSim(t);
  const boss = () => bossSim(t);

  describe('timers', () => {
    it('an order never confirmed expires after ORDER_TTL_SECONDS, its payment is voided and a late confirm is refused', async () => {
      const o = (await t.placeOrder({}, 'expire-1')).json<{ orderId: string; paymentId: string }>();
      const code = await codeFromSms(t);
      t.clock.advance(899);
      expect((await orderInStatus(t, o.orderId, 'awaiting_confirmation')).status).toBe('awaiting_confirmation');
      t.clock.advance(1);
      await orderInStatus(t, o.orderId, 'expired');
      await eventually(t, async () => ((await historyTypes(t, o.orderId)).includes('PaymentVoided') ? true : undefined), 'the payment to be voided');
      expect(await historyTypes(t, o.orderId)).toEqual(expect.arrayContaining(['OrderExpired', 'PaymentVoided']));
      expect((await t.confirm(o.paymentId, code)).statusCode).toBe(409);
      expect(platform().trades()).toHaveLength(0);
    });

    it('a lost notification is recovered by asking the platform after PAYMENT_QUERY_AFTER_SECONDS', async () => {
      platform().setFaults({ dropNotifications: true });
      const o = await placeAndConfirm(t, 'lost-1');
      await settledTrade(t, o.paymentId);
      const before = await orderInStatus(t, o.orderId, 'payment_pending');
      expect(before.status).toBe('payment_pending');
      t.clock.advance(120);
      await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
      const history = await t.app.inject({ method: 'GET', url: `/v1/orders/${o.orderId}/history`, headers: bearer(TOKENS.admin) });
      const succeeded = history.json<{ events: { type: string; data: Record<string, unknown> }[] }>().events.filter((e) => e.type === 'PaymentSucceeded');
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]?.data.source).toBe('query');
    });
  });

  describe('BOSS', () => {
    it('failing three times then succeeding: retried with backoff, provisioned once, the attempts visible', async () => {
      boss().setFaults({ failNext: 3 });
      const o = await placeAndConfirm(t, 'boss-flaky');
      await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 2 });
      // The task is marked done right after the order is provisioned.
      const task = await eventually(
        t,
        async () => {
          const r = await t.app.inject({ method: 'GET', url: `/v1/provisioning?orderId=${o.orderId}`, headers: bearer(TOKENS.service) });
          const [only] = r.json<{ items: { status: string }[] }>().items;
          return only?.status === 'done' ? only : undefined;
        },
        'the provisioning task to be done',
      );
      expect(task).toEqual(expect.objectContaining({ status: 'done', attempts: 4, lastError: expect.stringMatching(/503/) }));
      expect(boss().inspect().distinctRequestIds).toBe(1);
      expect((await historyTypes(t, o.orderId)).filter((x) => x === 'OrderProvisioned')).toHaveLength(1);
    });

    it('down for longer than RETRY_MAX_ATTEMPTS: the task fails, the order stays paid, and customer service can reprovision', async () => {
      boss().setFaults({ failNext: 5 });
      const o = await placeAndConfirm(t, 'boss-down');
      const failed = await eventually(
        t,
        async () => {
          const r = await t.app.inject({ method: 'GET', url: `/v1/provisioning?status=failed`, headers: bearer(TOKENS.service) });
          return r.json<{ items: { orderId: string; attempts: number }[] }>().items.find((i) => i.orderId === o.orderId);
        },
        'the provisioning task to fail',
        { tickSeconds: 4 },
      );
      expect(failed.attempts).toBe(5);
      expect((await orderInStatus(t, o.orderId, 'paid')).status).toBe('paid');
      const re = await t.app.inject({ method: 'POST', url: `/v1/orders/${o.orderId}/reprovision`, headers: bearer(TOKENS.service) });
      expect(re.statusCode).toBe(202);
      expect(re.json()).toEqual({ orderId: o.orderId, requestNo: 1, status: 'requested' });
      await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    });

    it('refusing for good: provisioning failed, refunded at the platform once, SMS about the refund', async () => {
      boss().setFaults({ refuseSmartcards: ['card-refused'] });
      const o = await placeAndConfirm(t, 'boss-refuses', { smartcardId: 'card-refused' });
      await orderInStatus(t, o.orderId, 'refunded');
      expect(platform().refunds()).toEqual([expect.objectContaining({ outTradeNo: o.paymentId, amount: { value: 3800, currency: 'CNY' } })]);
      expect(await historyTypes(t, o.orderId)).toEqual(expect.arrayContaining(['OrderPaid', 'OrderProvisioningFailed', 'PaymentRefunded', 'OrderRefunded']));
      await smsArrives(t, { msisdn: '+8613800138000' }, '退款', 'the refund SMS');
      const ent = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-refused/entitlements', headers: bearer(TOKENS.service) });
      expect(ent.json().entitlements).toEqual([]);
    });
  });

  describe('entitlements', () => {
    it('renewing an active package extends it from its current end', async () => {
      const first = await placeAndConfirm(t, 'renew-1', { smartcardId: 'card-renew' });
      const p1 = await orderInStatus(t, first.orderId, 'provisioned');
      t.clock.advance(10 * 86_400);
      const second = await placeAndConfirm(t, 'renew-2', { smartcardId: 'card-renew' });
      const p2 = await orderInStatus(t, second.orderId, 'provisioned');
      const end1 = (p1.boss as { validUntil: string }).validUntil;
      expect((p2.boss as { validFrom: string }).validFrom).toBe(end1);
      await caughtUp(t); // the entitlements read model follows the orders one
      const ent = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-renew/entitlements', headers: bearer(TOKENS.openPlatform) });
      const [only] = ent.json<{ entitlements: { validFrom: string; validUntil: string }[] }>().entitlements;
      expect(only?.validUntil).toBe(new Date(Date.parse(end1) + 30 * 86_400_000).toISOString());
    });

    it('two renewals paid at once (BOSS slow to answer) stack one after the other, never overlapping', async () => {
      boss().setFaults({ failNext: 2 });
      const a = await placeAndConfirm(t, 'twice-1', { smartcardId: 'card-twice' });
      const b = await placeAndConfirm(t, 'twice-2', { smartcardId: 'card-twice' });
      const pa = await orderInStatus(t, a.orderId, 'provisioned', { tickSeconds: 2 });
      const pb = await orderInStatus(t, b.orderId, 'provisioned', { tickSeconds: 2 });
      const [first, second] = [pa.boss, pb.boss]
        .map((x) => x as { validFrom: string; validUntil: string })
        .sort((x, y) => (x.validFrom < y.validFrom ? -1 : 1));
      expect(second?.validFrom).toBe(first?.validUntil);
      await caughtUp(t); // the entitlements read model follows the orders one
      const ent = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-twice/entitlements', headers: bearer(TOKENS.openPlatform) });
      const [only] = ent.json<{ entitlements: { validFrom: string; validUntil: string }[] }>().entitlements;
      expect(Date.parse(only?.validUntil ?? '') - Date.parse(only?.validFrom ?? '')).toBe(60 * 86_400_000);
    });

    it('an expired package no longer shows on the card', async () => {
      const o = await placeAndConfirm(t, 'lapse-1', { smartcardId: 'card-lapse', productId: 'opera-month' });
      await orderInStatus(t, o.orderId, 'provisioned');
      t.clock.advance(31 * 86_400);
      await caughtUp(t); // the entitlements read model follows the orders one
      const ent = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-lapse/entitlements', headers: bearer(TOKENS.openPlatform) });
      expect(ent.json().entitlements).toEqual([]);
    });
  });

  describe('customer service', () => {
    it('finds orders by phone number, smartcard and status, newest first, page by page; the phone is masked', async () => {
      for (let i = 0; i < 5; i++) {
        await t.placeOrder({ smartcardId: `card-cs-${i % 2}`, msisdn: '13912345678' }, `cs-${i}`);
        t.clock.advance(1);
      }
      await t.placeOrder({ msisdn: '13700000000' }, 'cs-other');
      await caughtUp(t);
      const r = await t.app.inject({ method: 'GET', url: '/v1/orders?msisdn=13912345678&limit=2', headers: bearer(TOKENS.service) });
      const found = r.json<{ items: { msisdn: string; placedAt: string }[]; nextCursor: string | null }>();
      expect(found.items.map((o) => o.msisdn)).toEqual(['139****5678', '139****5678']);
      expect(found.items[0]!.placedAt > found.items[1]!.placedAt).toBe(true);
      const all: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/orders?msisdn=%2B8613912345678&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const r = await t.app.inject({ method: 'GET', url, headers: bearer(TOKENS.service) });
        const body = r.json<{ items: { orderId: string }[]; nextCursor: string | null }>();
        all.push(...body.items.map((o) => o.orderId));
        cursor = body.nextCursor;
      } while (cursor);
      expect(new Set(all).size).toBe(5);
      const byCard = await t.app.inject({
        method: 'GET',
        url: '/v1/orders?smartcardId=card-cs-0&status=awaiting_confirmation',
        headers: bearer(TOKENS.service),
      });
      expect(byCard.json().items).toHaveLength(3);
      const bad = await t.app.inject({ method: 'GET', url: '/v1/orders?cursor=garbage', headers: bearer(TOKENS.service) });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().type).toMatch(/bad-cursor$/);
    });
  });
});

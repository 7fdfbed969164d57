/**
 * End to end, real processes: the service (`scripts/start.ts`) and the three simulators
 * (`npm run simulators`) on 127.0.0.1, driven over HTTP only. The happy path of the patent, the
 * subscriber's refusals, and notifications that arrive duplicated and out of order.
 */
import { describe, expect, it } from 'vitest';
import { comparePositions, countOf, eventTypes, freshOrderBody, waitForCode, waitForStatus } from './scenarios.ts';
import { e2eStack } from '../support/e2e-stack.ts';
import { waitUntil } from '../support/wait.ts';

// The query timer is far away here: results come by notification.
const e2e = e2eStack({ PAYMENT_QUERY_AFTER_SECONDS: '120' });
const { api } = e2e;

/** Places an order for a fresh subscriber and returns it with the code sent to the phone. */
const placeAndGetCode = async (over: Parameters<typeof freshOrderBody>[0] = {}) => {
  const body = freshOrderBody(over);
  const placed = await api.placeOrder(body, `key-${body.subscriberId}`);
  expect(placed.status).toBe(201);
  const code = await waitForCode(e2e.sim, body.msisdn);
  return { body, orderId: placed.body.orderId, paymentId: placed.body.paymentId, placed: placed.body, code };
};

describe('e2e: the patent flow over real processes', () => {
  it('order → code by SMS → confirm → platform notifies → BOSS → entitlement, SMS to phone and TV', async () => {
    const body = freshOrderBody();
    const placed = await api.placeOrder(body, `key-${body.subscriberId}`);
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'awaiting_confirmation', amount: { value: 3800, currency: 'CNY' } });
    const { orderId, paymentId } = placed.body;

    // The same key and body again: the same order, replayed.
    const again = await api.placeOrder(body, `key-${body.subscriberId}`);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.orderId).toBe(orderId);

    const code = await waitForCode(e2e.sim, body.msisdn);
    const confirmed = await api.confirm(paymentId, code);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toEqual({ paymentId, status: 'submitted' });

    const order = await waitForStatus(api, orderId, 'provisioned');
    expect(order).toMatchObject({ orderId, paymentId, status: 'provisioned', boss: { bossRef: expect.any(String) } });

    // The entitlement view, once it has caught up.
    const ent = await waitUntil(async () => {
      const r = await api.entitlements(body.smartcardId);
      return r.body.entitlements.length > 0 ? r.body.entitlements : undefined;
    }, 'the entitlement view');
    expect(ent).toEqual([
      expect.objectContaining({ productId: 'sports-month', channels: expect.arrayContaining(['CCTV-5 HD', 'NBA Pass']), validUntil: expect.any(String) }),
    ]);
    const e = ent[0];
    expect(Date.parse(e?.validUntil ?? '') - Date.parse(e?.validFrom ?? '')).toBe(30 * 86_400_000);

    // BOSS has exactly this one entitlement for the card, with the same dates.
    const boss = (await e2e.sim.boss()).entitlements.filter((x) => x.smartcardId === body.smartcardId);
    expect(boss).toHaveLength(1);
    expect(boss[0]).toMatchObject({ productId: 'sports-month', validFrom: e?.validFrom, validUntil: e?.validUntil, status: 'ACTIVE' });

    // Patent claim 3: the paid message goes to the phone AND to the TV (the smartcard).
    await waitUntil(
      async () => (await e2e.sim.messages({ smartcardId: body.smartcardId })).some((m) => m.text.includes('已开通')),
      'the provisioned SMS to the TV',
    );
    const phone = await e2e.sim.messages({ msisdn: body.msisdn });
    const tv = await e2e.sim.messages({ smartcardId: body.smartcardId });
    expect(phone.filter((m) => m.text.includes('已支付'))).toHaveLength(1);
    expect(tv.filter((m) => m.text.includes('已支付'))).toHaveLength(1);
    expect(phone.filter((m) => m.text.includes('验证码'))).toHaveLength(1);

    // The history, from the event store, in order.
    const history = await api.history(orderId);
    expect(history.status).toBe(200);
    const types = eventTypes(history.body.events);
    const ordered = [
      'OrderPlaced',
      'PaymentRequested',
      'PaymentConfirmed',
      'OrderPaymentPending',
      'PaymentSubmitted',
      'PaymentSucceeded',
      'OrderPaid',
      'OrderProvisioned',
    ];
    const at = ordered.map((t) => types.indexOf(t));
    expect(
      at.every((i) => i >= 0),
      `history: ${types.join(', ')}`,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    for (const t of ordered) expect(countOf(history.body.events, t), t).toBe(1);
    const succeeded = history.body.events.find((x) => x.type === 'PaymentSucceeded');
    expect(succeeded?.data).toMatchObject({ source: 'notification', amount: { value: 3800, currency: 'CNY' } });
    // Customer service never sees the whole phone number.
    expect(JSON.stringify(history.body)).not.toContain(body.msisdn);

    // The platform has one trade for it, paid.
    const trades = (await e2e.sim.trades()).filter((t) => t.outTradeNo === paymentId);
    expect(trades).toEqual([expect.objectContaining({ status: 'SUCCESS', amount: { value: 3800, currency: 'CNY' } })]);
  });

  it('five wrong codes: the fifth is 422 with attemptsLeft 0, the payment fails and the order is cancelled', async () => {
    const { orderId, paymentId, code } = await placeAndGetCode();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 5; i++) {
      const r = await api.confirm(paymentId, wrong);
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body).toMatchObject({ attemptsLeft: 5 - i, type: expect.stringMatching(/wrong-code$/) });
      expect(JSON.stringify(r.body)).not.toContain(code);
    }
    const order = await waitForStatus(api, orderId, 'cancelled');
    expect(order.cancelReason).toBe('too_many_wrong_codes');
    // The right code is of no use any more.
    expect((await api.confirm(paymentId, code)).status).toBe(409);
    const history = await api.history(orderId);
    expect(countOf(history.body.events, 'PaymentCodeRejected')).toBe(5);
    expect(countOf(history.body.events, 'PaymentConfirmed')).toBe(0);
    expect((await e2e.sim.trades()).some((t) => t.outTradeNo === paymentId)).toBe(false);
  });

  it('the subscriber declines on the phone: the order is cancelled and never charged', async () => {
    const { orderId, paymentId, code } = await placeAndGetCode();
    const r = await api.decline(paymentId);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ paymentId, status: 'declined' });
    const order = await waitForStatus(api, orderId, 'cancelled');
    expect(order.cancelReason).toBe('declined');
    expect((await api.confirm(paymentId, code)).status).toBe(409);
    expect((await e2e.sim.trades()).some((t) => t.outTradeNo === paymentId)).toBe(false);
  });

  it('the platform declines the payment: payment_failed, SMS to the phone, nothing opened at BOSS', async () => {
    await e2e.sim.faults('platform', { failMsisdnSuffixes: ['0404'] });
    try {
      const { body, orderId, paymentId, code } = await placeAndGetCode({ msisdn: '13900000404' });
      expect((await api.confirm(paymentId, code)).status).toBe(200);
      const order = await waitForStatus(api, orderId, 'payment_failed');
      expect(order.failureReason).toBe('platform_failed');
      await waitUntil(async () => (await e2e.sim.messages({ msisdn: body.msisdn })).some((m) => m.text.includes('支付未成功')), 'the payment-failed SMS');
      expect((await e2e.sim.trades()).find((t) => t.outTradeNo === paymentId)?.status).toBe('FAILED');
      expect((await e2e.sim.boss()).entitlements.some((e) => e.smartcardId === body.smartcardId)).toBe(false);
      const history = await api.history(orderId);
      expect(countOf(history.body.events, 'PaymentFailed')).toBe(1);
      expect(countOf(history.body.events, 'OrderPaid')).toBe(0);
    } finally {
      await e2e.sim.faults('platform', { failMsisdnSuffixes: [] });
    }
  });

  it('duplicated and reordered notifications: exactly one PaymentSucceeded per payment, both orders provisioned', async () => {
    const a = await placeAndGetCode();
    const b = await placeAndGetCode();
    await e2e.sim.faults('platform', { duplicateNotifications: 3, reorderNext: true });
    try {
      // A's notification is held until B's has been delivered: B is paid first.
      expect((await api.confirm(a.paymentId, a.code)).status).toBe(200);
      await waitUntil(async () => (await e2e.sim.notifications()).some((n) => n.outTradeNo === a.paymentId && n.held), "A's notification to be held");
      expect((await api.confirm(b.paymentId, b.code)).status).toBe(200);
      await Promise.all([waitForStatus(api, a.orderId, 'provisioned'), waitForStatus(api, b.orderId, 'provisioned')]);
      // Every copy of both notifications has been answered before we count.
      const sent = await waitUntil(async () => {
        const ns = (await e2e.sim.notifications()).filter((n) => n.outTradeNo === a.paymentId || n.outTradeNo === b.paymentId);
        return ns.length === 2 && ns.every((n) => n.finished) ? ns : undefined;
      }, 'every notification copy to be delivered');
      for (const n of sent) {
        expect(n.copies).toBe(3);
        expect(n.delivered).toBe(true);
        // Each copy was answered 200 `success`, the duplicates too.
        expect(new Set(n.attempts.filter((x) => x.accepted).map((x) => x.copy))).toEqual(new Set([1, 2, 3]));
      }
    } finally {
      await e2e.sim.faults('platform', { duplicateNotifications: 1, reorderNext: false });
    }
    for (const o of [a, b]) {
      const h = (await api.history(o.orderId)).body.events;
      expect(countOf(h, 'PaymentSucceeded'), `PaymentSucceeded of ${o.orderId}`).toBe(1);
      expect(countOf(h, 'OrderPaid')).toBe(1);
      expect(countOf(h, 'OrderProvisioned')).toBe(1);
      expect((await e2e.sim.boss()).entitlements.filter((e) => e.smartcardId === o.body.smartcardId)).toHaveLength(1);
      expect((await e2e.sim.messages({ msisdn: o.body.msisdn })).filter((m) => m.text.includes('已支付'))).toHaveLength(1);
    }
    // Reordered: B's payment was recorded before A's.
    const paidPos = async (orderId: string) => (await api.history(orderId)).body.events.find((e) => e.type === 'PaymentSucceeded')?.position ?? '';
    expect(comparePositions(await paidPos(b.orderId), await paidPos(a.orderId))).toBeLessThan(0);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../../integrations/signature.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { PLATFORM_SECRET } from '../support/fixtures.ts';
import { atOnce, tally } from '../support/races.ts';
import { confirmed, countOf, expectProblem, expectValidation, newEvents, placed, typesOf, writesNothing } from './support.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger();
});
afterEach(async () => {
  await t.close();
});

const PRICE = { value: 3800, currency: 'CNY' } as const;

const success = (paymentId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  notificationId: 'ntf-1',
  tradeNo: 'T20261125-0001',
  outTradeNo: paymentId,
  status: 'SUCCESS',
  amount: PRICE,
  paidAt: '2026-11-25T08:01:00Z',
  ...over,
});

/** Posts a raw body with the given signature header (or none). */
const postRaw = (raw: string, signature: string | undefined, contentType = 'application/json') =>
  t.app.inject({
    method: 'POST',
    url: '/v1/payment-notifications',
    headers: { 'content-type': contentType, ...(signature !== undefined && { 'x-platform-signature': signature }) },
    payload: raw,
  });

const nowSeconds = (): number => Math.floor(t.clock.now.getTime() / 1000);

describe('POST /v1/payment-notifications', () => {
  it('SUCCESS → 200 "success": PaymentSucceeded + OrderPaid', async () => {
    const { orderId, paymentId } = await confirmed(t);
    const written = await newEvents(t, async () => {
      const res = await t.notify(success(paymentId));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('success');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
    });
    expect(typesOf(written)).toEqual(['PaymentSucceeded', 'OrderPaid']);
    expect(written[0]?.data).toMatchObject({
      paymentId,
      tradeNo: 'T20261125-0001',
      notificationId: 'ntf-1',
      amount: PRICE,
      paidAt: '2026-11-25T08:01:00.000Z',
    });
    expect(written[1]?.data).toMatchObject({ orderId, paymentId, amount: PRICE });
    expect(written[0]?.metadata.actor).toEqual({ role: 'payment-platform', client: 'payment-platform' });
  });

  it('a duplicate → 200 "success", no new event; another id for the same result → no new event', async () => {
    const { paymentId } = await confirmed(t);
    expect((await t.notify(success(paymentId))).statusCode).toBe(200);
    await writesNothing(t, async () => {
      const dup = await t.notify(success(paymentId));
      expect(dup.statusCode).toBe(200);
      expect(dup.body).toBe('success');
      const other = await t.notify(success(paymentId, { notificationId: 'ntf-2' }));
      expect(other.statusCode).toBe(200);
      expect(other.body).toBe('success');
    });
  });

  it('amount mismatch → 200 "success", PaymentFlagged for an admin to review; the order waits, never PaymentSucceeded or OrderPaid', async () => {
    const { orderId, paymentId } = await confirmed(t);
    const written = await newEvents(t, async () => {
      const res = await t.notify(success(paymentId, { amount: { value: 1, currency: 'CNY' } }));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('success');
    });
    expect(typesOf(written)).toEqual(['PaymentFlagged']);
    expect(written[0]?.data).toMatchObject({ paymentId, orderId, reason: 'amount_mismatch', expected: PRICE, reported: { value: 1, currency: 'CNY' } });
    // A later SUCCESS with the right amount does not pay it either.
    expect((await t.notify(success(paymentId, { notificationId: 'ntf-2' }))).statusCode).toBe(200);
    const all = await t.allEvents();
    expect(countOf(all, 'PaymentSucceeded')).toBe(0);
    expect(countOf(all, 'OrderPaid')).toBe(0);
  });

  it('SUCCESS for a payment never confirmed → flagged (unexpected_success), never paid', async () => {
    const { paymentId } = await placed(t);
    const written = await newEvents(t, async () => {
      expect((await t.notify(success(paymentId))).statusCode).toBe(200);
    });
    // Flagged, the money's return requested at once, and the order (never confirmed) closed.
    expect(typesOf(written)).toEqual(['PaymentFlagged', 'PaymentRefundRequested', 'OrderPaymentFailed']);
    expect(written[0]?.data).toMatchObject({ reason: 'unexpected_success' });
    expect(written[1]?.data).toMatchObject({ paymentId, reason: 'unexpected_success', amount: PRICE });
  });

  it('FAILED → 200 "success": PaymentFailed + OrderPaymentFailed', async () => {
    const { orderId, paymentId } = await confirmed(t);
    const written = await newEvents(t, async () => {
      const res = await t.notify(success(paymentId, { status: 'FAILED', failureReason: 'insufficient balance', paidAt: undefined }));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('success');
    });
    expect(typesOf(written)).toEqual(['PaymentFailed', 'OrderPaymentFailed']);
    expect(written[0]?.data).toMatchObject({ paymentId, reason: 'platform_failed', detail: 'insufficient balance' });
    expect(written[1]?.data).toMatchObject({ orderId, reason: 'platform_failed' });
    // A SUCCESS after the FAILED (out of order) is flagged and its money refunded, never pays.
    const late = await newEvents(t, async () => {
      expect((await t.notify(success(paymentId, { notificationId: 'ntf-late' }))).statusCode).toBe(200);
    });
    expect(typesOf(late)).toEqual(['PaymentFlagged', 'PaymentRefundRequested']);
    expect(countOf(await t.allEvents(), 'OrderPaid')).toBe(0);
  });

  it('404 for an unknown outTradeNo, nothing written', async () => {
    await confirmed(t);
    await writesNothing(t, async () => {
      expectProblem(await t.notify(success('no-such-payment')), 404, 'payment-not-found');
    });
  });

  it('400 for a signed but invalid body, naming the field', async () => {
    const { paymentId } = await confirmed(t);
    await writesNothing(t, async () => {
      expectValidation(await t.notify(success(paymentId, { status: 'MAYBE' })), 'body.status');
      expectValidation(await t.notify(success(paymentId, { amount: { value: 38.5, currency: 'CNY' } })), 'body.amount.value');
      expectValidation(await t.notify(success(paymentId, { notificationId: '' })), 'body.notificationId');
      const raw = '{"notificationId": ';
      expectProblem(await postRaw(raw, sign(PLATFORM_SECRET, raw, nowSeconds())), 400);
    });
  });

  it('a well-signed body of another type than JSON is 415, nothing recorded, and no failed signature counted', async () => {
    const { paymentId } = await confirmed(t);
    const raw = JSON.stringify(success(paymentId));
    const rejected = async () =>
      (await t.app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((l) => l.startsWith('tvpay_notifications_rejected_total{'));
    const before = await rejected();
    await writesNothing(t, async () => {
      for (const type of ['text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
        expectProblem(await postRaw(raw, sign(PLATFORM_SECRET, raw, nowSeconds()), type), 415, 'unsupported-media-type');
      }
    });
    expect(await rejected()).toEqual(before);
    expect((await postRaw(raw, sign(PLATFORM_SECRET, raw, nowSeconds()))).statusCode).toBe(200);
  });

  describe('401, nothing recorded', () => {
    it('signed with another secret', async () => {
      const { paymentId } = await confirmed(t);
      await writesNothing(t, async () => {
        const body = expectProblem(await t.notify(success(paymentId), { secret: 'not-the-platform-secret-0123' }), 401, 'bad-signature');
        expect(body.detail).toContain('mismatch');
      });
    });

    it('stale: signed more than 300 s ago, or as far in the future', async () => {
      const { paymentId } = await confirmed(t);
      await writesNothing(t, async () => {
        expect(expectProblem(await t.notify(success(paymentId), { at: nowSeconds() - 301 }), 401, 'bad-signature').detail).toContain('stale');
        expectProblem(await t.notify(success(paymentId), { at: nowSeconds() + 301 }), 401, 'bad-signature');
      });
      // 300 s is still in time.
      expect((await t.notify(success(paymentId), { at: nowSeconds() - 300 })).statusCode).toBe(200);
    });

    it('missing or malformed header', async () => {
      const { paymentId } = await confirmed(t);
      const raw = JSON.stringify(success(paymentId));
      await writesNothing(t, async () => {
        expect(expectProblem(await postRaw(raw, undefined), 401, 'bad-signature').detail).toContain('missing');
        expectProblem(await postRaw(raw, ''), 401, 'bad-signature');
        expectProblem(await postRaw(raw, 'v1=abc'), 401, 'bad-signature');
        expectProblem(await postRaw(raw, `t=${nowSeconds()}`), 401, 'bad-signature');
      });
    });

    it('body changed after signing', async () => {
      const { paymentId } = await confirmed(t);
      const raw = JSON.stringify(success(paymentId));
      const header = sign(PLATFORM_SECRET, raw, nowSeconds());
      await writesNothing(t, async () => {
        expectProblem(await postRaw(JSON.stringify(success(paymentId, { amount: { value: 1, currency: 'CNY' } })), header), 401, 'bad-signature');
        // Re-serialised (whitespace) is a different raw body: the signature covers the bytes.
        expectProblem(await postRaw(JSON.stringify(success(paymentId), null, 2), header), 401, 'bad-signature');
      });
    });

    it('an invalid body with a bad signature is 401, not 400 (signature first)', async () => {
      await writesNothing(t, async () => {
        expectProblem(await postRaw('{"nonsense": true}', undefined), 401, 'bad-signature');
      });
    });
  });

  it('rotation: a header with two v1 entries where only the second matches is accepted', async () => {
    const { paymentId } = await confirmed(t);
    const raw = JSON.stringify(success(paymentId));
    const res = await postRaw(raw, sign(['an-old-retired-secret-0123456789', PLATFORM_SECRET], raw, nowSeconds()));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('success');
    expect(countOf(await t.allEvents(), 'PaymentSucceeded')).toBe(1);
  });

  it('rotation: PAYMENT_PLATFORM_SECRET="old,new" accepts either; anything else → 401', async () => {
    await t.close();
    const [oldSecret, newSecret] = ['old-secret-0123456789abcdef0123456', 'new-secret-0123456789abcdef0123456'];
    t = await startTestLedger({ PAYMENT_PLATFORM_SECRET: `${oldSecret},${newSecret}` });
    const a = await confirmed(t, 'k-a');
    const b = await confirmed(t, 'k-b');
    await writesNothing(t, async () => {
      expectProblem(await t.notify(success(a.paymentId), { secret: PLATFORM_SECRET }), 401, 'bad-signature');
      expectProblem(await t.notify(success(a.paymentId), { secret: `${oldSecret},${newSecret}` }), 401, 'bad-signature');
    });
    const old = await t.notify(success(a.paymentId), { secret: oldSecret });
    expect(old.statusCode).toBe(200);
    expect(old.body).toBe('success');
    const fresh = await t.notify(success(b.paymentId, { notificationId: 'ntf-b' }), { secret: newSecret });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.body).toBe('success');
    expect(countOf(await t.allEvents(), 'OrderPaid')).toBe(2);
  });

  for (const [what, nth] of [
    ['copies of one notification', (paymentId: string) => success(paymentId)],
    ['notifications with different ids for the same payment', (paymentId: string, i: number) => success(paymentId, { notificationId: `ntf-${i}` })],
  ] as const) {
    it(`20 concurrent ${what}: all 200 "success", exactly one PaymentSucceeded and one OrderPaid`, async () => {
      const { paymentId } = await confirmed(t);
      const responses = await atOnce(20, (i) => t.notify(nth(paymentId, i)));
      expect(responses.map((r) => `${r.statusCode} ${r.body}`)).toEqual(Array.from({ length: 20 }, () => '200 success'));
      expect(tally(await t.allEvents(), 'PaymentSucceeded', 'OrderPaid', 'PaymentFlagged')).toEqual({ PaymentSucceeded: 1, OrderPaid: 1, PaymentFlagged: 0 });
    });
  }

  it('20 concurrent mixed SUCCESS and FAILED: one final result, and the order agrees with it', async () => {
    const { paymentId } = await confirmed(t);
    const responses = await atOnce(20, (i) =>
      t.notify(
        i % 2 === 0
          ? success(paymentId, { notificationId: `ntf-${i}` })
          : success(paymentId, { notificationId: `ntf-${i}`, status: 'FAILED', paidAt: undefined }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 200 && r.body === 'success')).toBe(true);
    const all = await t.allEvents();
    const finals = countOf(all, 'PaymentSucceeded') + countOf(all, 'PaymentFailed');
    expect(finals).toBe(1);
    expect(countOf(all, 'OrderPaid') + countOf(all, 'OrderPaymentFailed')).toBe(1);
    expect(countOf(all, 'OrderPaid')).toBe(countOf(all, 'PaymentSucceeded'));
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSealed } from '../../domain/personal-data.ts';
import { expectAnswer } from '../support/expect-answer.ts';
import { atOnce, tally } from '../support/races.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { confirmed, countOf, expectProblem, expectValidation, newEvents, placed, postAs, typesOf, UNKNOWN_ID, writesNothing } from './support.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger();
});
afterEach(async () => {
  await t.close();
});

const post = (headers: Record<string, string>, payload: unknown) =>
  t.app.inject({ method: 'POST', url: '/v1/orders', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
/** What an event's number opens to with the subscriber's key. */
const opened = async (stored: unknown): Promise<string> => {
  if (!isSealed(stored)) throw new Error(`not a sealed number: ${JSON.stringify(stored)}`);
  const r = await t.service.ledger.personalData.reveal(stored, stored.subscriberId);
  return r.kind === 'msisdn' ? r.msisdn : r.kind;
};
const asOpenPlatform = (key = 'key-1') => ({ ...bearer(TOKENS.openPlatform), 'idempotency-key': key, 'content-type': 'application/json' });

describe('POST /v1/orders', () => {
  it('201: places the order and requests its payment', async () => {
    const written = await newEvents(t, async () => {
      const res = await t.placeOrder();
      expect(res.statusCode).toBe(201);
      const body = res.json<Record<string, unknown>>();
      expect(body).toMatchObject({
        status: 'awaiting_confirmation',
        amount: { value: 3800, currency: 'CNY' },
        product: { productId: 'sports-month', periodDays: 30 },
        expiresAt: '2026-11-25T08:15:00.000Z',
      });
      expect(body.orderId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.paymentId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    });
    expect(typesOf(written)).toEqual(['OrderPlaced', 'PaymentRequested']);
    // The number is sealed with the subscriber's key (docs/privacy.md): no event holds it in clear.
    expect(JSON.stringify(written.map((e) => e.data))).not.toContain('13800138000');
    expect(await opened(written[0]?.data.msisdn)).toBe('8613800138000');
    expect(written[1]?.data.msisdn).toEqual(written[0]?.data.msisdn);
    // The one-time code never reaches an event.
    const code = t.codeFor(String(written[1]?.data.paymentId));
    expect(JSON.stringify(written.map((e) => ({ data: e.data, metadata: e.metadata })))).not.toContain(code);
  });

  it('same key, same body: same response body, 200, Idempotent-Replayed, one order only', async () => {
    const first = await t.placeOrder();
    expect(first.statusCode).toBe(201);
    const written = await newEvents(t, async () => {
      const again = await t.placeOrder();
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toBe(first.body);
    });
    expect(written).toEqual([]);
    expect(countOf(await t.allEvents(), 'OrderPlaced')).toBe(1);
  });

  it('a replay answers the same even after the clock moved', async () => {
    const first = await t.placeOrder();
    t.clock.advance(120);
    const again = await t.placeOrder();
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
  });

  it('the key is scoped per caller token: two open-platform tokens, same key → two orders', async () => {
    await t.close();
    t = await startTestLedger({
      API_TOKENS: `open-platform:${TOKENS.openPlatform},open-platform:second-open-platform-token,phone-app:${TOKENS.phone}`,
    });
    const a = await post(asOpenPlatform('shared-key'), orderBody());
    const b = await post({ ...asOpenPlatform('shared-key'), ...bearer('second-open-platform-token') }, orderBody());
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(a.json<{ orderId: string }>().orderId).not.toBe(b.json<{ orderId: string }>().orderId);
    const events = await t.allEvents();
    expect(countOf(events, 'OrderPlaced')).toBe(2);
    expect(countOf(events, 'PaymentRequested')).toBe(2);
  });

  it('10 concurrent copies (same key, same body): one order, the same body for all', async () => {
    const responses = await atOnce(10, () => t.placeOrder());
    expect(responses.every((r) => r.statusCode === 201 || r.statusCode === 200)).toBe(true);
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
    expect(tally(await t.allEvents(), 'OrderPlaced', 'PaymentRequested')).toEqual({ OrderPlaced: 1, PaymentRequested: 1 });
  });

  it('10 concurrent copies: all but the first answer Idempotent-Replayed: true (API.md)', async () => {
    const responses = await atOnce(10, () => t.placeOrder());
    const replayed = responses.filter((r) => r.headers['idempotent-replayed'] === 'true');
    expect(replayed).toHaveLength(9);
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
  });

  it('concurrent same key with two bodies: one order; the other body is refused 422', async () => {
    const responses = await atOnce(10, (i) => t.placeOrder(i % 2 === 0 ? {} : { productId: 'movies-month' }));
    const events = await t.allEvents();
    expect(countOf(events, 'OrderPlaced')).toBe(1);
    const winner = events.find((e) => e.type === 'OrderPlaced');
    const winningProduct = (winner?.data.product as { productId: string } | undefined)?.productId;
    responses.forEach((r, i) => {
      const product = i % 2 === 0 ? 'sports-month' : 'movies-month';
      if (product === winningProduct) expect([200, 201]).toContain(r.statusCode);
      else expectProblem(r, 422, 'idempotency-key-reused');
    });
  });

  it('different keys → different orders', async () => {
    const a = await placed(t, 'key-a');
    const b = await placed(t, 'key-b');
    expect(a.orderId).not.toBe(b.orderId);
    expect(countOf(await t.allEvents(), 'OrderPlaced')).toBe(2);
  });

  it('msisdn 13800138000 and +8613800138000 are the same normalised number', async () => {
    const national = await t.placeOrder({ msisdn: '13800138000' }, 'k-national');
    const e164 = await t.placeOrder({ msisdn: '+8613800138000' }, 'k-e164');
    expect(national.statusCode).toBe(201);
    expect(e164.statusCode).toBe(201);
    const placedEvents = (await t.allEvents()).filter((e) => e.type === 'OrderPlaced');
    expect(await Promise.all(placedEvents.map((e) => opened(e.data.msisdn)))).toEqual(['8613800138000', '8613800138000']);
    // Same key, the other spelling of the same number: the same request, so a replay.
    const replay = await t.placeOrder({ msisdn: '+8613800138000' }, 'k-national');
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(national.body);
  });

  it.each(['12345', '23800138000', '1380013800', '138001380001', '+8513800138000', '12800138000', '138-0013-8000', ''])(
    '400 for the invalid msisdn %j, naming body.msisdn, nothing written',
    async (msisdn) => {
      await writesNothing(t, async () => expectValidation(await t.placeOrder({ msisdn }), 'body.msisdn'));
    },
  );

  it('400: each bad field is named', async () => {
    await writesNothing(t, async () => {
      expectValidation(await t.placeOrder({ paymentMethod: 'card' }), 'body.paymentMethod');
      expectValidation(await t.placeOrder({ subscriberId: '' }), 'body.subscriberId');
      expectValidation(await t.placeOrder({ smartcardId: 'has spaces' }), 'body.smartcardId');
      expectValidation(await t.placeOrder({ productId: 'x'.repeat(65) }), 'body.productId');
      const { productId: _omit, ...withoutProduct } = orderBody();
      expectValidation(await post(asOpenPlatform(), withoutProduct), 'body.productId');
      expectValidation(await post(asOpenPlatform(), { ...orderBody(), msisdn: 13800138000 }), 'body.msisdn');
    });
  });

  it('400: an unknown extra field is refused (strict body), each unknown field named itself', async () => {
    await writesNothing(t, async () => {
      const body = expectProblem(await post(asOpenPlatform(), { ...orderBody(), coupon: 'FREE', referrer: 'x' }), 400, 'validation');
      expect(body.errors).toEqual([
        { path: 'body.coupon', message: 'unknown field' },
        { path: 'body.referrer', message: 'unknown field' },
      ]);
      expect(body.detail).toBe('2 field(s) are invalid: body.coupon, body.referrer');
    });
  });

  it('400: malformed JSON', async () => {
    await writesNothing(t, async () => {
      expectProblem(await post(asOpenPlatform(), '{"subscriberId": "sub-1", '), 400);
    });
  });

  it('400: missing Idempotency-Key names the header', async () => {
    await writesNothing(t, async () => {
      const res = await post({ ...bearer(TOKENS.openPlatform), 'content-type': 'application/json' }, orderBody());
      const body = expectValidation(res, 'headers.idempotency-key');
      expect(body.detail).toContain('idempotency-key');
    });
  });

  it('400: an Idempotency-Key longer than 255 characters', async () => {
    await writesNothing(t, async () => {
      expectValidation(await post(asOpenPlatform('k'.repeat(256)), orderBody()), 'headers.idempotency-key');
    });
    expect((await post(asOpenPlatform('k'.repeat(255)), orderBody())).statusCode).toBe(201);
  });

  it('401: no token, unknown token, not a bearer token', async () => {
    await writesNothing(t, async () => {
      const h = { 'idempotency-key': 'k', 'content-type': 'application/json' };
      const none = expectProblem(await post(h, orderBody()), 401, 'unauthorized');
      expect((await post(h, orderBody())).headers['www-authenticate']).toBe('Bearer');
      expect(none.title).toBe('Unauthorized');
      expectProblem(await post({ ...h, ...bearer('no-such-token-12345') }, orderBody()), 401, 'unauthorized');
      expectProblem(await post({ ...h, authorization: `Basic ${TOKENS.openPlatform}` }, orderBody()), 401, 'unauthorized');
    });
  });

  it('403: known token, wrong role', async () => {
    await writesNothing(t, async () => {
      for (const token of [TOKENS.phone, TOKENS.service, TOKENS.admin]) {
        expectProblem(await post({ ...asOpenPlatform(), ...bearer(token) }, orderBody()), 403, 'forbidden');
      }
    });
  });

  it('422: unknown product', async () => {
    await writesNothing(t, async () => {
      const body = expectProblem(await t.placeOrder({ productId: 'no-such-product' }), 422, 'unknown-product');
      expect(body.productId).toBe('no-such-product');
    });
  });

  it('422: the same key with another body, type ending idempotency-key-reused', async () => {
    await placed(t);
    await writesNothing(t, async () => {
      expectProblem(await t.placeOrder({ productId: 'movies-month' }), 422, 'idempotency-key-reused');
      expectProblem(await t.placeOrder({ msisdn: '13900139000' }), 422, 'idempotency-key-reused');
    });
  });
});

describe('POST /v1/orders/{orderId}/cancel', () => {
  const cancel = (orderId: string, token: string | undefined = TOKENS.openPlatform) => postAs(t, token, `/v1/orders/${orderId}/cancel`);

  it('200 before payment: OrderCancelled(customer) + PaymentVoided; again → 200, nothing new', async () => {
    const { orderId, paymentId } = await placed(t);
    const written = await newEvents(t, async () => expectAnswer(await cancel(orderId), 200, { orderId, status: 'cancelled' }));
    expect(typesOf(written)).toEqual(['OrderCancelled', 'PaymentVoided']);
    expect(written[0]?.data).toMatchObject({ orderId, reason: 'customer' });
    expect(written[1]?.data).toMatchObject({ paymentId, reason: 'order_cancelled' });

    await writesNothing(t, async () => {
      expectAnswer(await cancel(orderId, TOKENS.service), 200, { orderId, status: 'cancelled' });
    });
  });

  it('customer service may cancel too', async () => {
    const { orderId } = await placed(t);
    expect((await cancel(orderId, TOKENS.service)).statusCode).toBe(200);
  });

  it('a cancelled order can no longer be confirmed (409)', async () => {
    const { orderId, paymentId } = await placed(t);
    await cancel(orderId);
    await writesNothing(t, async () => {
      expectProblem(await t.confirm(paymentId, t.codeFor(paymentId)), 409);
    });
  });

  it('409 after confirm: order-not-cancellable, nothing written', async () => {
    const { orderId } = await confirmed(t);
    await writesNothing(t, async () => {
      const body = expectProblem(await cancel(orderId), 409, 'order-not-cancellable');
      expect(body.status).toBe(409);
    });
  });

  it('409 after payment: order-not-cancellable', async () => {
    const { paymentId, orderId } = await confirmed(t);
    const paid = await t.notify({ notificationId: 'n-1', tradeNo: 'T-1', outTradeNo: paymentId, status: 'SUCCESS', amount: { value: 3800, currency: 'CNY' } });
    expect(paid.statusCode).toBe(200);
    await writesNothing(t, async () => {
      expectProblem(await cancel(orderId), 409, 'order-not-cancellable');
    });
  });

  it('404 for an unknown order', async () => {
    await writesNothing(t, async () => {
      expectProblem(await cancel(UNKNOWN_ID), 404, 'order-not-found');
    });
  });

  it('400 for an orderId that is not a UUID, naming params.orderId', async () => {
    await writesNothing(t, async () => {
      expectValidation(await cancel('not-a-uuid'), 'params.orderId');
    });
  });

  it('401 without or with an unknown token; 403 for the phone app and admin', async () => {
    const { orderId } = await placed(t);
    await writesNothing(t, async () => {
      expectProblem(await postAs(t, undefined, `/v1/orders/${orderId}/cancel`), 401, 'unauthorized');
      expectProblem(await cancel(orderId, 'no-such-token-12345'), 401, 'unauthorized');
      expectProblem(await cancel(orderId, TOKENS.phone), 403, 'forbidden');
      expectProblem(await cancel(orderId, TOKENS.admin), 403, 'forbidden');
    });
  });
});

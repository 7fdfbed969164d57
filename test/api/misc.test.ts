import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../support/expect-answer.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { confirmAfterAWrongCode, loggedWhile } from '../support/log-capture.ts';
import { expectProblem, expectValidation, getAs, newEvents, placed, postAs, typesOf, UNKNOWN_ID, writesNothing } from './support.ts';

type HistoryEvent = {
  streamId: string;
  revision: number;
  position: string;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recordedAt: string;
};

describe('with a fresh ledger', () => {
  let t: TestLedger;
  beforeEach(async () => {
    t = await startTestLedger();
  });
  afterEach(async () => {
    await t.close();
  });

  describe('GET /v1/orders/{orderId}/history', () => {
    const history = (orderId: string, token: string | undefined) => getAs(t, token, `/v1/orders/${orderId}/history`);

    it('every event of the order and its payment, in global order, msisdn masked for customer service', async () => {
      const { orderId, paymentId } = await placed(t);
      const other = await placed(t, 'k-other'); // another order's events must not show
      await t.confirm(paymentId, '000000' === t.codeFor(paymentId) ? '111111' : '000000');
      await t.confirm(paymentId, t.codeFor(paymentId));
      const res = await history(orderId, TOKENS.service);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ orderId: string; events: HistoryEvent[] }>();
      expect(body.orderId).toBe(orderId);
      expect(body.events.map((e) => e.type)).toEqual(['OrderPlaced', 'PaymentRequested', 'PaymentCodeRejected', 'PaymentConfirmed', 'OrderPaymentPending']);
      expect(body.events.map((e) => e.streamId)).toEqual([
        `order-${orderId}`,
        `payment-${paymentId}`,
        `payment-${paymentId}`,
        `payment-${paymentId}`,
        `order-${orderId}`,
      ]);
      // Same order as the global log.
      const global = (await t.allEvents()).filter((e) => e.streamId === `order-${orderId}` || e.streamId === `payment-${paymentId}`).map((e) => e.id);
      expect(body.events.map((e) => e.id)).toEqual(global);
      expect(body.events.some((e) => e.data.orderId === other.orderId)).toBe(false);
      const numbers = body.events.filter((e) => 'msisdn' in e.data).map((e) => e.data.msisdn);
      expect(numbers).toEqual(['138****8000', '138****8000']);
      expect(res.body).not.toContain('13800138000');
    });

    it('admin sees the whole number', async () => {
      const { orderId } = await placed(t);
      const res = await history(orderId, TOKENS.admin);
      expect(res.statusCode).toBe(200);
      const numbers = res
        .json<{ events: HistoryEvent[] }>()
        .events.filter((e) => 'msisdn' in e.data)
        .map((e) => e.data.msisdn);
      expect(numbers).toEqual(['8613800138000', '8613800138000']);
    });

    it('404 unknown order; 400 bad id; 401; 403 for phone app and open platform', async () => {
      const { orderId } = await placed(t);
      await writesNothing(t, async () => {
        expectProblem(await history(UNKNOWN_ID, TOKENS.service), 404, 'order-not-found');
        expectValidation(await history('nope', TOKENS.service), 'params.orderId');
        expectProblem(await history(orderId, undefined), 401, 'unauthorized');
        expectProblem(await history(orderId, 'no-such-token-12345'), 401, 'unauthorized');
        expectProblem(await history(orderId, TOKENS.phone), 403, 'forbidden');
        expectProblem(await history(orderId, TOKENS.openPlatform), 403, 'forbidden');
      });
    });
  });

  describe('GET /v1/products', () => {
    it('200 for open platform and customer service, prices in integer fen', async () => {
      for (const token of [TOKENS.openPlatform, TOKENS.service]) {
        const res = await getAs(t, token, '/v1/products');
        expect(res.statusCode).toBe(200);
        const { products } = res.json<{ products: { productId: string; price: { value: number; currency: string } }[] }>();
        expect(products.length).toBeGreaterThan(0);
        expect(products.find((p) => p.productId === 'sports-month')?.price).toEqual({ value: 3800, currency: 'CNY' });
        for (const p of products) expect(Number.isInteger(p.price.value)).toBe(true);
      }
    });

    it('401 without or with an unknown token; 403 for phone app and admin', async () => {
      await writesNothing(t, async () => {
        expectProblem(await getAs(t, undefined, '/v1/products'), 401, 'unauthorized');
        expectProblem(await getAs(t, 'no-such-token-12345', '/v1/products'), 401, 'unauthorized');
        expectProblem(await getAs(t, TOKENS.phone, '/v1/products'), 403, 'forbidden');
        expectProblem(await getAs(t, TOKENS.admin, '/v1/products'), 403, 'forbidden');
      });
    });
  });

  describe('operations and docs', () => {
    it('GET /healthz → 200 without a token', async () => {
      expectAnswer(await getAs(t, undefined, '/healthz'), 200, { status: 'ok' });
    });

    it('GET /docs/json lists every command endpoint', async () => {
      const res = await getAs(t, undefined, '/docs/json');
      expect(res.statusCode).toBe(200);
      const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
      expect(doc.openapi).toMatch(/^3\./);
      const expected: [string, string][] = [
        ['/v1/orders', 'post'],
        ['/v1/orders/{orderId}/cancel', 'post'],
        ['/v1/orders/{orderId}/history', 'get'],
        ['/v1/payments/{paymentId}/confirm', 'post'],
        ['/v1/payments/{paymentId}/resend-code', 'post'],
        ['/v1/payments/{paymentId}/decline', 'post'],
        ['/v1/payment-notifications', 'post'],
        ['/v1/products', 'get'],
        ['/v1/subscribers/{subscriberId}/erasure', 'post'],
        ['/healthz', 'get'],
      ];
      for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
      // The request schemas are the validating zod schemas.
      expect(JSON.stringify(doc.paths['/v1/orders'])).toContain('msisdn');
      expect(JSON.stringify(doc.paths['/v1/orders'])).toContain('idempotency-key');
    });

    it('an unknown route is a problem+json 404', async () => {
      expectProblem(await getAs(t, TOKENS.admin, '/v1/nothing-here'), 404, 'no-such-route');
    });
  });

  describe('correlation metadata', () => {
    /** Places an order with these headers besides the open platform's: the events it wrote, and the x-request-id it answered with. */
    const placeWith = async (key: string, headers: Record<string, string>) => {
      let requestId: unknown;
      const written = await newEvents(t, async () => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': key, ...headers },
          payload: orderBody(),
        });
        expect(res.statusCode).toBe(201);
        requestId = res.headers['x-request-id'];
      });
      return { written, requestId };
    };

    it('events carry X-Correlation-Id, causationId = the request id, and the actor role', async () => {
      const { written, requestId } = await placeWith('k-corr', { 'x-correlation-id': 'stb-session-42' });
      expect(typeof requestId).toBe('string');
      expect(typesOf(written)).toEqual(['OrderPlaced', 'PaymentRequested']);
      const [placedEvent, requested] = written;
      for (const e of written) expect(e.metadata.correlationId).toBe('stb-session-42');
      // The request caused the order; the order caused its payment request (the workflow's follow-up).
      expect(placedEvent?.metadata.causationId).toBe(requestId);
      expect(placedEvent?.metadata.actor.role).toBe('open-platform');
      expect(placedEvent?.metadata.actor.client).not.toContain(TOKENS.openPlatform);
      expect(requested?.metadata.causationId).toBe(placedEvent?.id);
      expect(requested?.metadata.actor).toEqual({ role: 'system', client: 'process' });
    });

    it('without X-Correlation-Id the request id correlates; a sane X-Request-Id is kept', async () => {
      const { paymentId } = await placed(t);
      const written = await newEvents(t, async () => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/payments/${paymentId}/confirm`,
          headers: { ...bearer(TOKENS.phone), 'x-request-id': 'phone-req-7' },
          payload: { code: t.codeFor(paymentId) },
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-request-id']).toBe('phone-req-7');
      });
      expect(typesOf(written)).toEqual(['PaymentConfirmed', 'OrderPaymentPending']);
      const [confirmedEvent, pending] = written;
      expect(confirmedEvent?.metadata).toMatchObject({ correlationId: 'phone-req-7', causationId: 'phone-req-7', actor: { role: 'phone-app' } });
      // The follow-up is caused by the event, in the same correlation, by the process.
      expect(pending?.metadata).toMatchObject({ correlationId: 'phone-req-7', causationId: confirmedEvent?.id, actor: { role: 'system' } });
    });

    it('an insane X-Correlation-Id is replaced by the request id', async () => {
      const { written, requestId } = await placeWith('k-bad-corr', { 'x-correlation-id': 'has spaces and <script>' });
      for (const e of written) expect(e.metadata.correlationId).toBe(String(requestId));
    });

    it('a cancel by customer service names its role; the voiding follow-up is the process', async () => {
      const { orderId } = await placed(t);
      const written = await newEvents(t, async () => {
        const res = await postAs(t, TOKENS.service, `/v1/orders/${orderId}/cancel`);
        expect(res.statusCode).toBe(200);
      });
      expect(written[0]?.metadata.actor.role).toBe('customer-service');
      expect(written[1]?.metadata).toMatchObject({ causationId: written[0]?.id, correlationId: written[0]?.metadata.correlationId, actor: { role: 'system' } });
    });
  });
});

describe('logs', () => {
  it('after an order and a wrong + right confirm: no whole phone number, no code value, no token', async () => {
    let codes: string[] = [];
    const log = (
      await loggedWhile('trace', async (t) => {
        codes = await confirmAfterAWrongCode(t, (await placed(t)).paymentId);
      })
    ).text();
    expect(log).toContain('order placed');
    expect(log).toContain('request refused: wrong-code');
    for (const secret of ['13800138000', '8613800138000', TOKENS.openPlatform, TOKENS.phone, ...codes]) {
      expect(log, 'a phone number, token or code value').not.toContain(secret);
    }
    expect(log).not.toMatch(/"code":"\d{6}"/);
  });

  it('refusals log no whole number and no token either (bad token, bad field, replay, cancel)', async () => {
    const msisdn = '13912345678';
    const logged = await loggedWhile('trace', async (t) => {
      const { orderId } = await placed(t, 'k-1');
      await t.placeOrder({ msisdn }, 'k-own');
      await t.placeOrder({ msisdn: `+86${msisdn}` }, 'k-own');
      await t.placeOrder({ msisdn, productId: 'no-such-product' }, 'k-unknown');
      await t.placeOrder({ msisdn, subscriberId: '' }, 'k-bad');
      await getAs(t, 'no-such-token-12345', '/v1/products');
      await getAs(t, TOKENS.phone, '/v1/products');
      await postAs(t, TOKENS.service, `/v1/orders/${orderId}/cancel`);
      await getAs(t, TOKENS.admin, `/v1/orders/${orderId}/history`);
      await t.notify(
        { notificationId: 'n', tradeNo: 'T', outTradeNo: 'x', status: 'SUCCESS', amount: { value: 1, currency: 'CNY' } },
        { secret: 'wrong-secret-0123456789' },
      );
    });
    const log = logged.text();
    expect(log).toContain('request refused');
    for (const secret of [
      msisdn,
      `86${msisdn}`,
      TOKENS.openPlatform,
      TOKENS.phone,
      TOKENS.service,
      TOKENS.admin,
      'no-such-token-12345',
      'wrong-secret-0123456789',
    ]) {
      expect(log, 'a phone number, token or secret').not.toContain(secret);
    }
  });
});

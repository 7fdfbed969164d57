/**
 * Abuse limits (http/limits.ts): failed authentication per address, confirm and resend per payment
 * and per address, order placement per client. Each answers 429 problem+json naming the limit, with
 * Retry-After, changes nothing, and is counted in /metrics. Limits are set small here, by RATE_LIMIT_*.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMIT_NAMES, addressKey, type LimitName } from '../../http/limits.ts';
import { API_TOKENS, bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { waitUntil } from '../support/wait.ts';
import { confirmed, countOf, expectProblem, placed, writesNothing } from '../api/support.ts';

let t: TestLedger | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const start = async (env: Record<string, string>): Promise<TestLedger> => {
  t = await startTestLedger(env);
  return t;
};

const rateLimited = async (l: TestLedger, limit: LimitName): Promise<number> => {
  const text = (await l.app.inject({ method: 'GET', url: '/metrics' })).body;
  const m = new RegExp(`^tvpay_rate_limited_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`no tvpay_rate_limited_total series for ${limit}`);
  return Number(m[1]);
};

/** A 429 naming the limit, with Retry-After in whole seconds within the window. */
const expectLimited = (res: LightMyRequestResponse, limit: LimitName, windowSeconds = 60): void => {
  const body = expectProblem(res, 429, 'rate-limited');
  expect(body.limit).toBe(limit);
  expect(body.detail).toContain(limit);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
};

const confirmFrom = (l: TestLedger, paymentId: string, code: string, remoteAddress = '127.0.0.1') =>
  l.app.inject({ method: 'POST', url: `/v1/payments/${paymentId}/confirm`, headers: bearer(TOKENS.phone), payload: { code }, remoteAddress });
const resendFrom = (l: TestLedger, paymentId: string, remoteAddress = '127.0.0.1') =>
  l.app.inject({ method: 'POST', url: `/v1/payments/${paymentId}/resend-code`, headers: bearer(TOKENS.phone), remoteAddress });
const wrongCode = (l: TestLedger, paymentId: string): string => (l.codeFor(paymentId) === '000000' ? '111111' : '000000');

describe('/metrics', () => {
  it('lists every limit at 0 before anything is refused', async () => {
    const l = await start({});
    for (const limit of LIMIT_NAMES) expect(await rateLimited(l, limit)).toBe(0);
  });
});

describe('what counts as one address', () => {
  it('an IPv6 address by its /64, written any way; an IPv4 address mapped into IPv6 as itself', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it('guesses from many addresses of one IPv6 network share one limit; another network has its own', async () => {
    const l = await start({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '2' });
    const guess = (i: number, network = '2001:db8:1:2') =>
      l.app.inject({ method: 'GET', url: '/v1/products', headers: bearer(`guess-000${i}`), remoteAddress: `${network}::${i}` });
    expectProblem(await guess(1), 401, 'unauthorized');
    expectProblem(await guess(2), 401, 'unauthorized');
    expectLimited(await guess(3), 'auth-failures-per-ip');
    expectLimited(await guess(4), 'auth-failures-per-ip');
    expectProblem(await guess(5, '2001:db8:1:3'), 401, 'unauthorized');
  });
});

describe('failed authentication per address', () => {
  it('after RATE_LIMIT_AUTH_FAILURES_PER_IP unknown or missing tokens: 429 instead of 401, counted; a valid token from the same address still works', async () => {
    const l = await start({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '3' });
    const guess = (token?: string) => l.app.inject({ method: 'GET', url: '/v1/products', headers: token ? bearer(token) : {} });
    expectProblem(await guess('guess-0001'), 401, 'unauthorized');
    expectProblem(await guess(), 401, 'unauthorized');
    expectProblem(await guess('guess-0002'), 401, 'unauthorized');
    const refused = await guess('guess-0003');
    expectLimited(refused, 'auth-failures-per-ip');
    expect(refused.body).not.toContain('guess-0003');
    expect(await rateLimited(l, 'auth-failures-per-ip')).toBe(1);
    expect((await guess(TOKENS.openPlatform)).statusCode).toBe(200);
    // Another address is not held back by this one's guesses.
    expectProblem(await l.app.inject({ method: 'GET', url: '/v1/products', headers: bearer('guess-0004'), remoteAddress: '10.0.0.9' }), 401, 'unauthorized');
  });

  it('a payment notification with a bad signature is a failed authentication too; a well-signed one from that address still goes through', async () => {
    const l = await start({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '2' });
    const p = await confirmed(l, 'bad-signature');
    const notification = {
      notificationId: 'ntf-limits-1',
      tradeNo: 'T-limits-1',
      outTradeNo: p.paymentId,
      status: 'SUCCESS',
      amount: { value: 3800, currency: 'CNY' },
      paidAt: l.clock.now.toISOString(),
    };
    const forged = () => l.notify(notification, { secret: 'a-secret-the-platform-never-had-0123456789' });
    expectProblem(await forged(), 401, 'bad-signature');
    expectProblem(await forged(), 401, 'bad-signature');
    expectLimited(await forged(), 'auth-failures-per-ip');
    expect(await rateLimited(l, 'auth-failures-per-ip')).toBe(1);
    expect(countOf(await l.allEvents(), 'PaymentSucceeded')).toBe(0);
    expect((await l.notify(notification)).statusCode).toBe(200);
    expect(countOf(await l.allEvents(), 'PaymentSucceeded')).toBe(1);
  });

  it('successful requests and wrong roles (403) are not counted as failed authentication', async () => {
    const l = await start({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '1' });
    for (let i = 0; i < 5; i++) {
      expect((await l.app.inject({ method: 'GET', url: '/v1/products', headers: bearer(TOKENS.openPlatform) })).statusCode).toBe(200);
      expectProblem(await l.app.inject({ method: 'GET', url: '/v1/products', headers: bearer(TOKENS.phone) }), 403, 'forbidden');
    }
    expectProblem(await l.app.inject({ method: 'GET', url: '/v1/products' }), 401, 'unauthorized');
    expectLimited(await l.app.inject({ method: 'GET', url: '/v1/products' }), 'auth-failures-per-ip');
  });

  it('the window ends: after RATE_LIMIT_WINDOW_SECONDS the address may try again', async () => {
    const l = await start({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '1', RATE_LIMIT_WINDOW_SECONDS: '1' });
    const guess = () => l.app.inject({ method: 'GET', url: '/v1/products', headers: bearer('guess-0001') });
    expectProblem(await guess(), 401, 'unauthorized');
    expectLimited(await guess(), 'auth-failures-per-ip', 1);
    await waitUntil(async () => (await guess()).statusCode === 401, 'the failed-authentication window to end', { timeoutMs: 5_000, intervalMs: 250 });
  });
});

describe('confirm', () => {
  it('a request its address may no longer make counts nothing against the payment it names: another phone still has the payment’s whole budget', async () => {
    const l = await start({ RATE_LIMIT_CONFIRM_PER_IP: '2', RATE_LIMIT_CONFIRM_PER_PAYMENT: '2' });
    const target = await placed(l, 'k-target');
    const malformed = (paymentId: string, remoteAddress: string) =>
      l.app.inject({ method: 'POST', url: `/v1/payments/${paymentId}/confirm`, headers: bearer(TOKENS.phone), payload: { code: 'x' }, remoteAddress });
    // One address spends its budget on other ids, then names the target.
    for (const other of [crypto.randomUUID(), crypto.randomUUID()]) expect((await malformed(other, '10.0.0.66')).statusCode).toBe(400);
    expectLimited(await malformed(target.paymentId, '10.0.0.66'), 'confirm-per-ip');
    // The target's own limit is untouched by that refusal.
    expect((await malformed(target.paymentId, '10.0.0.77')).statusCode).toBe(400);
    expect((await malformed(target.paymentId, '10.0.0.77')).statusCode).toBe(400);
    expectLimited(await malformed(target.paymentId, '10.0.0.78'), 'confirm-per-payment');
  });

  it('per payment: past RATE_LIMIT_CONFIRM_PER_PAYMENT the guess is not checked (429, nothing written); other payments go on', async () => {
    const l = await start({ RATE_LIMIT_CONFIRM_PER_PAYMENT: '2' });
    const a = await placed(l, 'k-a');
    const b = await placed(l, 'k-b');
    expectProblem(await confirmFrom(l, a.paymentId, wrongCode(l, a.paymentId)), 422, 'wrong-code');
    expectProblem(await confirmFrom(l, a.paymentId, wrongCode(l, a.paymentId)), 422, 'wrong-code');
    await writesNothing(l, async () => {
      expectLimited(await confirmFrom(l, a.paymentId, l.codeFor(a.paymentId)), 'confirm-per-payment');
      expectLimited(await confirmFrom(l, a.paymentId, wrongCode(l, a.paymentId), '10.0.0.7'), 'confirm-per-payment');
    });
    expect(countOf(await l.allEvents(), 'PaymentCodeRejected')).toBe(2);
    expect((await confirmFrom(l, b.paymentId, l.codeFor(b.paymentId))).statusCode).toBe(200);
    expect(await rateLimited(l, 'confirm-per-payment')).toBe(2);
  });

  it('a burst of 30 concurrent guesses on one payment: at most the limit reach the payment, the rest are 429, never a 5xx', async () => {
    const l = await start({ RATE_LIMIT_CONFIRM_PER_PAYMENT: '4' });
    const p = await placed(l);
    const answers = await Promise.all(Array.from({ length: 30 }, () => confirmFrom(l, p.paymentId, wrongCode(l, p.paymentId))));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 429)).toHaveLength(26);
    expect(statuses.filter((s) => s >= 500)).toHaveLength(0);
    expect(countOf(await l.allEvents(), 'PaymentCodeRejected')).toBeLessThanOrEqual(4);
  });

  it('per address: past RATE_LIMIT_CONFIRM_PER_IP, 429 from that address on any payment; another address goes on', async () => {
    const l = await start({ RATE_LIMIT_CONFIRM_PER_IP: '2' });
    const [a, b, c] = [await placed(l, 'k-a'), await placed(l, 'k-b'), await placed(l, 'k-c')];
    expectProblem(await confirmFrom(l, a.paymentId, wrongCode(l, a.paymentId), '10.0.0.1'), 422, 'wrong-code');
    expectProblem(await confirmFrom(l, b.paymentId, wrongCode(l, b.paymentId), '10.0.0.1'), 422, 'wrong-code');
    await writesNothing(l, async () => expectLimited(await confirmFrom(l, c.paymentId, l.codeFor(c.paymentId), '10.0.0.1'), 'confirm-per-ip'));
    expect((await confirmFrom(l, c.paymentId, l.codeFor(c.paymentId), '10.0.0.2')).statusCode).toBe(200);
    expect(await rateLimited(l, 'confirm-per-ip')).toBe(1);
  });
});

describe('resend', () => {
  it('per payment: past RATE_LIMIT_RESEND_PER_PAYMENT, 429 naming the limit (before the domain’s own spacing is asked), nothing written', async () => {
    const l = await start({ RATE_LIMIT_RESEND_PER_PAYMENT: '1' });
    const p = await placed(l);
    l.clock.advance(61);
    expect((await resendFrom(l, p.paymentId)).statusCode).toBe(200);
    l.clock.advance(61);
    await writesNothing(l, async () => expectLimited(await resendFrom(l, p.paymentId, '10.0.0.3'), 'resend-per-payment'));
    expect(await rateLimited(l, 'resend-per-payment')).toBe(1);
  });

  it('per address: past RATE_LIMIT_RESEND_PER_IP, 429 from that address on any payment; another address goes on', async () => {
    const l = await start({ RATE_LIMIT_RESEND_PER_IP: '1' });
    const [a, b] = [await placed(l, 'k-a'), await placed(l, 'k-b')];
    l.clock.advance(61);
    expect((await resendFrom(l, a.paymentId, '10.0.0.1')).statusCode).toBe(200);
    await writesNothing(l, async () => expectLimited(await resendFrom(l, b.paymentId, '10.0.0.1'), 'resend-per-ip'));
    expect((await resendFrom(l, b.paymentId, '10.0.0.2')).statusCode).toBe(200);
    expect(await rateLimited(l, 'resend-per-ip')).toBe(1);
  });
});

describe('order placement per client', () => {
  it('past RATE_LIMIT_ORDERS_PER_CLIENT, 429 for that client, nothing written; another client goes on', async () => {
    const other = 'test-other-open-platform-token';
    const l = await start({ RATE_LIMIT_ORDERS_PER_CLIENT: '2', API_TOKENS: `${API_TOKENS},open-platform:${other}` });
    expect((await l.placeOrder({}, 'k-1')).statusCode).toBe(201);
    expect((await l.placeOrder({}, 'k-2')).statusCode).toBe(201);
    await writesNothing(l, async () => {
      expectLimited(await l.placeOrder({}, 'k-3'), 'orders-per-client');
      // From another address it is the same client.
      expectLimited(
        await l.app.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': 'k-4' },
          payload: orderBody(),
          remoteAddress: '10.0.0.5',
        }),
        'orders-per-client',
      );
    });
    const theirs = await l.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...bearer(other), 'idempotency-key': 'k-1' }, payload: orderBody() });
    expect(theirs.statusCode, theirs.body).toBe(201);
    expect(await rateLimited(l, 'orders-per-client')).toBe(2);
  });
});

describe('the client address behind a proxy (TRUST_PROXY)', () => {
  /** A wrong code (or `code`) for the payment, from `remoteAddress`, saying it forwards `forwardedFor`. */
  const confirmVia = (l: TestLedger, paymentId: string, forwardedFor: string, remoteAddress: string, code = wrongCode(l, paymentId)) =>
    l.app.inject({
      method: 'POST',
      url: `/v1/payments/${paymentId}/confirm`,
      headers: { ...bearer(TOKENS.phone), 'x-forwarded-for': forwardedFor },
      payload: { code },
      remoteAddress,
    });

  it('from a trusted proxy, each forwarded client has its own per-address limit', async () => {
    const l = await start({ TRUST_PROXY: '10.1.0.0/16', RATE_LIMIT_CONFIRM_PER_IP: '2', RATE_LIMIT_CONFIRM_PER_PAYMENT: '1000' });
    const p = await placed(l, 'proxy-1');
    for (let i = 0; i < 2; i++) expectProblem(await confirmVia(l, p.paymentId, '198.51.100.7', '10.1.2.3'), 422, 'wrong-code');
    expectLimited(await confirmVia(l, p.paymentId, '198.51.100.7', '10.1.2.3'), 'confirm-per-ip');
    // Another phone behind the same proxy is not held back by the first one: its right code confirms.
    expect((await confirmVia(l, p.paymentId, '203.0.113.9', '10.1.2.3', l.codeFor(p.paymentId))).statusCode).toBe(200);
  });

  it('from anyone else the header is ignored: a caller cannot pick its address to escape the limit', async () => {
    const l = await start({ TRUST_PROXY: '10.1.0.0/16', RATE_LIMIT_CONFIRM_PER_IP: '2', RATE_LIMIT_CONFIRM_PER_PAYMENT: '1000' });
    const p = await placed(l, 'proxy-2');
    expectProblem(await confirmVia(l, p.paymentId, '198.51.100.1', '192.0.2.50'), 422, 'wrong-code');
    expectProblem(await confirmVia(l, p.paymentId, '198.51.100.2', '192.0.2.50'), 422, 'wrong-code');
    expectLimited(await confirmVia(l, p.paymentId, '198.51.100.3', '192.0.2.50'), 'confirm-per-ip');
  });

  it('unset, X-Forwarded-For is never believed, even from the loopback', async () => {
    const l = await start({ RATE_LIMIT_CONFIRM_PER_IP: '1', RATE_LIMIT_CONFIRM_PER_PAYMENT: '1000' });
    const p = await placed(l, 'proxy-3');
    expectProblem(await confirmVia(l, p.paymentId, '198.51.100.1', '127.0.0.1'), 422, 'wrong-code');
    expectLimited(await confirmVia(l, p.paymentId, '198.51.100.2', '127.0.0.1'), 'confirm-per-ip');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentPlatformClient } from '../../integrations/payment-platform-client.ts';
import { OutboundError, type CreateTradeRequest, type PaymentNotification } from '../../integrations/ports.ts';
import { withRetry } from '../support/retry.ts';
import { verify } from '../../integrations/signature.ts';
import { defaultPlatformFaults } from '../../integrations/simulators/payment-platform.ts';
import { simulatorServer } from '../support/simulator-server.ts';
import { waitUntil } from '../support/wait.ts';

const SECRET = 'platform-test-secret';

/** Our side of the notifications: records raw body + signature, answers what `respond` says. */
type Received = { rawBody: string; signature: string | undefined; body: PaymentNotification };
let receiver: Server;
let notifyUrl = '';
let received: Received[] = [];
let respond: (n: number) => { status: number; text: string } = () => ({ status: 200, text: 'success' });

const platform = simulatorServer('platform', {
  platform: { secrets: [SECRET], notifyRetryBaseMs: 1, notifyMaxAttempts: 4, reorderMaxHoldMs: 2_000 },
});
const client = (over: { secret?: string; timeoutMs?: number } = {}) =>
  createPaymentPlatformClient({ baseUrl: platform.url, secret: over.secret ?? SECRET, timeoutMs: over.timeoutMs ?? 2_000 });

let seq = 0;
const trade = (over: Partial<CreateTradeRequest> = {}): CreateTradeRequest => ({
  outTradeNo: `pay-${++seq}-${Date.now()}`,
  amount: { value: 3000, currency: 'CNY' },
  msisdn: '13800138000',
  subject: '体育频道 Sports package, 30 days',
  notifyUrl,
  expiresAt: new Date(Date.now() + 900_000).toISOString(),
  ...over,
});
const receivedFor = (outTradeNo: string) => received.filter((r) => r.body.outTradeNo === outTradeNo);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const sig = req.headers['x-platform-signature'];
      received.push({ rawBody, signature: typeof sig === 'string' ? sig : undefined, body: JSON.parse(rawBody) as PaymentNotification });
      const r = respond(received.length);
      res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.text);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/payment-notifications`;
});

afterEach(async () => {
  await platform.sim.settled();
  platform.sim.setFaults(defaultPlatformFaults);
  respond = () => ({ status: 200, text: 'success' });
  received = [];
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('payment platform client against the simulator', () => {
  it('creates a trade; the platform sends a signed SUCCESS notification that verify accepts; query agrees', async () => {
    const req = trade();
    const created = await client().createTrade(req);
    expect(created).toEqual({ tradeNo: expect.stringMatching(/^T/), status: 'PROCESSING' });

    const [n] = await waitUntil(() => receivedFor(req.outTradeNo).length === 1 && receivedFor(req.outTradeNo), 'notification');
    expect(n?.body).toMatchObject({ tradeNo: created.tradeNo, outTradeNo: req.outTradeNo, status: 'SUCCESS', amount: req.amount, paidAt: expect.any(String) });
    expect(verify(n?.signature, n?.rawBody ?? '', [SECRET], Date.now() / 1000)).toEqual({ ok: true });
    expect(verify(n?.signature, n?.rawBody ?? '', ['wrong'], Date.now() / 1000)).toEqual({ ok: false, reason: 'mismatch' });

    expect(await client().queryTrade(req.outTradeNo)).toEqual({ tradeNo: created.tradeNo, status: 'SUCCESS', amount: req.amount, paidAt: n?.body.paidAt });
    const listed = (await (await fetch(`${platform.url}/_sim/notifications`)).json()) as Array<{ outTradeNo: string; delivered: boolean }>;
    expect(listed.find((x) => x.outTradeNo === req.outTradeNo)?.delivered).toBe(true);
  });

  it('is idempotent by outTradeNo: one trade, one notification; a reused outTradeNo with another amount is final', async () => {
    const req = trade();
    const a = await client().createTrade(req);
    const b = await client().createTrade(req);
    expect(b.tradeNo).toBe(a.tradeNo);
    await platform.sim.settled();
    expect(platform.sim.trades().filter((t) => t.outTradeNo === req.outTradeNo)).toHaveLength(1);
    expect(receivedFor(req.outTradeNo)).toHaveLength(1);
    await expect(client().createTrade({ ...req, amount: { value: 1, currency: 'CNY' } })).rejects.toMatchObject({ kind: 'final', status: 422 });
  });

  it('answers null for an unknown trade', async () => {
    expect(await client().queryTrade('no-such-payment')).toBeNull();
  });

  it('refuses requests signed with the wrong secret (final 401), without leaking the phone number', async () => {
    const req = trade({ msisdn: '13912345678' });
    const err = await client({ secret: 'wrong' })
      .createTrade(req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundError);
    expect(err).toMatchObject({ kind: 'final', status: 401, system: 'payment-platform' });
    expect(String((err as OutboundError).message)).not.toContain('13912345678');
    expect(String((err as OutboundError).message)).not.toContain('wrong');
  });

  it('refunds idempotently by refundNo; unknown trade 404 and over-refund 422 are final', async () => {
    const req = trade();
    await client().createTrade(req);
    await waitUntil(() => platform.sim.trades().find((t) => t.outTradeNo === req.outTradeNo && t.status === 'SUCCESS'), 'trade settled');
    const refund = { outTradeNo: req.outTradeNo, refundNo: `r-${req.outTradeNo}`, amount: req.amount };
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'SUCCESS' });
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'SUCCESS' });
    expect(platform.sim.refunds().filter((r) => r.outTradeNo === req.outTradeNo)).toHaveLength(1);
    await expect(client().refund({ ...refund, refundNo: 'r-more' })).rejects.toMatchObject({ kind: 'final', status: 422 });
    await expect(client().refund({ ...refund, outTradeNo: 'nope', refundNo: 'r-x' })).rejects.toMatchObject({ kind: 'final', status: 404 });
  });

  it('refundProcessingAnswers: a refund accepted, not made, answers PROCESSING that many times, then SUCCESS', async () => {
    const req = trade();
    await client().createTrade(req);
    await waitUntil(() => platform.sim.trades().find((t) => t.outTradeNo === req.outTradeNo && t.status === 'SUCCESS'), 'trade settled');
    platform.sim.setFaults({ refundProcessingAnswers: 2 });
    const refund = { outTradeNo: req.outTradeNo, refundNo: `r-slow-${req.outTradeNo}`, amount: req.amount };
    const mine = () => platform.sim.refunds().filter((r) => r.refundNo === refund.refundNo);
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'PROCESSING' });
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'PROCESSING' });
    expect(mine()).toMatchObject([{ status: 'PROCESSING' }]);
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'SUCCESS' });
    expect(await client().refund(refund)).toEqual({ refundNo: refund.refundNo, status: 'SUCCESS' });
    expect(mine()).toMatchObject([{ status: 'SUCCESS' }]);
    platform.sim.setFaults({ refundProcessingAnswers: 0 });
  });

  it('5xx is retryable; retrying with the same key creates one trade (fail-next-K)', async () => {
    platform.sim.setFaults({ failNext: 2 });
    const req = trade();
    await expect(client().createTrade(req)).rejects.toMatchObject({ kind: 'retryable', status: 503 });
    const waits: number[] = [];
    const created = await withRetry(() => client().createTrade(req), { baseMs: 10, maxAttempts: 3, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toHaveLength(1);
    expect(
      platform.sim
        .trades()
        .filter((t) => t.outTradeNo === req.outTradeNo)
        .map((t) => t.tradeNo),
    ).toEqual([created.tradeNo]);
  });

  it('a seeded 5xx rate fails deterministically', async () => {
    platform.sim.setFaults({ errorRate: 1 });
    await expect(client().queryTrade('x')).rejects.toMatchObject({ kind: 'retryable', status: 503 });
    const runs: boolean[][] = [];
    for (let run = 0; run < 2; run++) {
      platform.sim.setFaults({ errorRate: 0.5, seed: 42 }); // naming the seed restarts the sequence
      const outcomes: boolean[] = [];
      for (let i = 0; i < 8; i++)
        outcomes.push(
          await client()
            .queryTrade('x')
            .then(
              () => true,
              () => false,
            ),
        );
      runs.push(outcomes);
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]).toContain(true);
    expect(runs[0]).toContain(false);
  });

  it('a timeout is retryable and has no status; so is a refused connection', async () => {
    platform.sim.setFaults({ latencyMs: 300 });
    const err = await client({ timeoutMs: 30 })
      .queryTrade('x')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retryable', status: undefined, message: expect.stringContaining('timed out') });
    const closed = createPaymentPlatformClient({ baseUrl: 'http://127.0.0.1:1', secret: SECRET, timeoutMs: 1_000 });
    await expect(closed.queryTrade('x')).rejects.toMatchObject({ kind: 'retryable', status: undefined, message: expect.stringContaining('network error') });
  });

  it('settles FAILED by the msisdn rule', async () => {
    platform.sim.setFaults({ failMsisdnSuffixes: ['0004'] });
    const req = trade({ msisdn: '13800000004' });
    await client().createTrade(req);
    const [n] = await waitUntil(() => receivedFor(req.outTradeNo).length > 0 && receivedFor(req.outTradeNo), 'FAILED notification');
    expect(n?.body).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_BALANCE' });
    expect(n?.body.paidAt).toBeUndefined();
    expect(await client().queryTrade(req.outTradeNo)).toMatchObject({ status: 'FAILED' });
  });
});

describe('notification delivery faults', () => {
  it('retries delivery until 200 `success`, with a fresh valid signature each time', async () => {
    respond = (n) => (n === 1 ? { status: 500, text: 'oops' } : n === 2 ? { status: 200, text: 'ok' } : { status: 200, text: 'success' });
    const req = trade();
    await client().createTrade(req);
    await platform.sim.settled();
    expect(receivedFor(req.outTradeNo)).toHaveLength(3);
    for (const r of receivedFor(req.outTradeNo)) expect(verify(r.signature, r.rawBody, [SECRET], Date.now() / 1000)).toEqual({ ok: true });
    const n = platform.sim.notifications().find((x) => x.outTradeNo === req.outTradeNo);
    expect(n?.attempts.map((a) => a.httpStatus)).toEqual([500, 200, 200]);
    expect(n).toMatchObject({ delivered: true, finished: true });
  });

  it('gives up after notifyMaxAttempts', async () => {
    respond = () => ({ status: 503, text: '' });
    const req = trade();
    await client().createTrade(req);
    await platform.sim.settled();
    expect(receivedFor(req.outTradeNo)).toHaveLength(4);
    expect(platform.sim.notifications().find((x) => x.outTradeNo === req.outTradeNo)).toMatchObject({ delivered: false, finished: true });
  });

  it('drop: never sends; the trade is still SUCCESS when queried', async () => {
    await fetch(`${platform.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ dropNotifications: true }) });
    const req = trade();
    await client().createTrade(req);
    await platform.sim.settled();
    expect(receivedFor(req.outTradeNo)).toHaveLength(0);
    expect(await client().queryTrade(req.outTradeNo)).toMatchObject({ status: 'SUCCESS' });
    expect(platform.sim.notifications().find((x) => x.outTradeNo === req.outTradeNo)).toMatchObject({ dropped: true, attempts: [] });
  });

  it('duplicate: N copies of the same notification, each signed', async () => {
    platform.sim.setFaults({ duplicateNotifications: 3 });
    const req = trade();
    await client().createTrade(req);
    await waitUntil(() => receivedFor(req.outTradeNo).length === 3, 'three copies');
    const ids = new Set(receivedFor(req.outTradeNo).map((r) => r.body.notificationId));
    expect(ids.size).toBe(1);
    for (const r of receivedFor(req.outTradeNo)) expect(verify(r.signature, r.rawBody, [SECRET], Date.now() / 1000)).toEqual({ ok: true });
  });

  it('reorder: the held notification arrives after the next one', async () => {
    platform.sim.setFaults({ reorderNext: true });
    const first = trade();
    await client().createTrade(first);
    await waitUntil(() => platform.sim.notifications().find((n) => n.outTradeNo === first.outTradeNo), 'held notification');
    const second = trade();
    await client().createTrade(second);
    await waitUntil(() => received.length === 2, 'both notifications');
    expect(received.map((r) => r.body.outTradeNo)).toEqual([second.outTradeNo, first.outTradeNo]);
  });

  it('amount mismatch: the platform reports another amount in the notification and the query', async () => {
    platform.sim.setFaults({ amountMismatchFen: -100 });
    const req = trade();
    await client().createTrade(req);
    const [n] = await waitUntil(() => receivedFor(req.outTradeNo).length > 0 && receivedFor(req.outTradeNo), 'notification');
    expect(n?.body.amount).toEqual({ value: 2900, currency: 'CNY' });
    expect(await client().queryTrade(req.outTradeNo)).toMatchObject({ amount: { value: 2900, currency: 'CNY' } });
  });

  it('POST /_sim/faults validates and answers the current faults', async () => {
    const bad = await fetch(`${platform.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ errorRate: 2, nope: 1 }) });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${platform.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ latencyMs: 5 }) });
    expect(await ok.json()).toMatchObject({ latencyMs: 5, errorRate: 0 });
  });
});

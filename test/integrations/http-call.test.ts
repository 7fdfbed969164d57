/**
 * What one outbound call refuses to do, whoever the partner is: follow a redirect (our signature and
 * the request's body would go to a host nobody configured, and it would answer for the partner), or
 * read an answer without end (a partner, or whoever sits between, could fill our memory).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANSWER_BYTES } from '../../integrations/http-call.ts';
import { createPaymentPlatformClient } from '../../integrations/payment-platform-client.ts';
import { OutboundError } from '../../integrations/ports.ts';

const SECRET = 'http-call-platform-secret-0123456789';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const listen = async (handler: Handler): Promise<{ server: Server; url: string }> => {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

/** Whoever a redirect would send us to: records what reached it. */
let elsewhere: { server: Server; url: string };
const reachedElsewhere: { headers: IncomingMessage['headers']; body: string }[] = [];
/** The partner: answers as `answer` says. */
let partner: { server: Server; url: string };
let answer: Handler = (_req, res) => res.end();

beforeAll(async () => {
  elsewhere = await listen((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      reachedElsewhere.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tradeNo":"T-elsewhere","status":"PROCESSING"}');
    });
  });
  partner = await listen((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
});
afterAll(async () => {
  for (const s of [elsewhere.server, partner.server]) await new Promise<void>((resolve) => s.close(() => resolve()));
});

const platform = () => createPaymentPlatformClient({ baseUrl: partner.url, secret: SECRET, timeoutMs: 3_000 });
const createTrade = () =>
  platform().createTrade({
    outTradeNo: 'pay-redirect-1',
    amount: { value: 3800, currency: 'CNY' },
    msisdn: '+8613800138000',
    subject: 'Sports 30 days',
    notifyUrl: 'http://127.0.0.1:1/v1/payment-notifications',
    expiresAt: '2030-01-01T00:00:00.000Z',
  });
const failure = async (call: () => Promise<unknown>): Promise<OutboundError> => {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
};

describe('an outbound call', () => {
  it.each([301, 302, 303, 307, 308])('never follows a %i: nothing reaches the other host, and the redirect is a final answer', async (status) => {
    reachedElsewhere.length = 0;
    answer = (_req, res) => res.writeHead(status, { location: `${elsewhere.url}/steal` }).end();
    const err = await failure(createTrade);
    expect({ kind: err.kind, status: err.status }).toEqual({ kind: 'final', status });
    expect(reachedElsewhere).toEqual([]);
  });

  it('refuses an answer larger than it reads, declared or streamed: retryable, and nothing of it kept', async () => {
    const big = Buffer.alloc(MAX_ANSWER_BYTES + 1, 'x');
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(big.length) }).end(big);
    const declared = await failure(() => platform().queryTrade('pay-big-1'));
    expect(declared).toMatchObject({ kind: 'retryable', message: `payment-platform GET /trades/{outTradeNo}: answer larger than ${MAX_ANSWER_BYTES} bytes` });
    answer = (_req, res) => {
      // Chunked, no length: the limit holds on what arrives.
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let sent = 0; sent <= MAX_ANSWER_BYTES; sent += 64 * 1024) res.write(Buffer.alloc(64 * 1024, 'y'));
      res.end();
    };
    const streamed = await failure(() => platform().queryTrade('pay-big-2'));
    expect(streamed.kind).toBe('retryable');
    expect(streamed.message).toMatch(/answer larger than/);
  });

  it('still reads an answer of the contract (the servers above are not the cause)', async () => {
    answer = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tradeNo":"T1","status":"SUCCESS","amount":{"value":3800,"currency":"CNY"}}');
    await expect(platform().queryTrade('pay-ok-1')).resolves.toMatchObject({ tradeNo: 'T1', status: 'SUCCESS' });
  });
});

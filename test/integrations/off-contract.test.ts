/**
 * A partner that answers 2xx off its contract (integrations/http-call.ts, parseAnswer): the answer is
 * treated as no answer — a retryable OutboundError carrying the HTTP status and naming what is wrong
 * ("not JSON", or the contract fields that do not fit), never the body, the URL or a secret. Every call
 * is idempotent, so asking again is safe. Answers the contract gives no body (BOSS revoke, SMS send) are
 * not read: any 2xx is done.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBossClient } from '../../integrations/boss-client.ts';
import { createPaymentPlatformClient } from '../../integrations/payment-platform-client.ts';
import { OutboundError } from '../../integrations/ports.ts';
import { createSmsClient } from '../../integrations/sms-client.ts';

const SECRET = 'off-contract-platform-secret-0123456789';
const TOKEN = 'off-contract-boss-token-0123456789';
const MSISDN = '13800138000';
/** Put into the bad answers: must never reach an error message. */
const LEAK = 'answer-body-leak-marker';

/** The partner: answers every request 200 with `answer`. */
let answer = '';
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const platform = () => createPaymentPlatformClient({ baseUrl, secret: SECRET, timeoutMs: 2_000 });
const boss = () => createBossClient({ baseUrl, token: TOKEN, timeoutMs: 2_000 });
const amount = { value: 3000, currency: 'CNY' } as const;

/** The error `call` throws when the partner answers `body`; fails the test when it does not throw one. */
const errorOf = async (body: string, call: () => Promise<unknown>): Promise<OutboundError> => {
  answer = body;
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `answered ${body}`).toBeInstanceOf(OutboundError);
  return err as OutboundError;
};

const expectRetryable = (err: OutboundError, system: string, operation: string, problem: RegExp) => {
  expect({ kind: err.kind, system: err.system, operation: err.operation, status: err.status }).toEqual({ kind: 'retryable', system, operation, status: 200 });
  expect(err.message).toMatch(new RegExp(`^${system} ${operation.replace(/[{}]/g, '\\$&')}: unexpected response: `));
  expect(err.message).toMatch(problem);
  for (const secret of [SECRET, TOKEN, MSISDN, LEAK, baseUrl]) expect(err.message).not.toContain(secret);
};

type Case = { name: string; body: string; problem: RegExp };
/** Bad answers every JSON-answering operation is tried with, besides its own. */
const common: Case[] = [
  { name: 'not JSON', body: `<html>${LEAK}</html>`, problem: /not JSON$/ },
  { name: 'empty', body: '', problem: /not JSON$/ },
  { name: 'JSON null', body: 'null', problem: /not as the contract says \(\(root\)\)$/ },
  { name: 'an array', body: `["${LEAK}"]`, problem: /not as the contract says \(\(root\)\)$/ },
];

describe('payment platform answering 200 off its contract', () => {
  const createTrade = () =>
    platform().createTrade({
      outTradeNo: 'pay-off-1',
      amount,
      msisdn: MSISDN,
      subject: 'Sports 30 days',
      notifyUrl: 'http://127.0.0.1:1/v1/payment-notifications',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
  const queryTrade = () => platform().queryTrade('pay-off-1');
  const refund = () => platform().refund({ outTradeNo: 'pay-off-1', refundNo: 'ref-off-1', amount });

  it.each([
    ...common,
    { name: 'no tradeNo', body: `{"status":"PROCESSING","note":"${LEAK}"}`, problem: /\(tradeNo\)$/ },
    { name: 'an empty tradeNo', body: '{"tradeNo":"","status":"PROCESSING"}', problem: /\(tradeNo\)$/ },
    { name: 'a numeric tradeNo', body: '{"tradeNo":42,"status":"PROCESSING"}', problem: /\(tradeNo\)$/ },
    { name: 'no status', body: '{"tradeNo":"T1"}', problem: /\(status\)$/ },
    { name: 'a status trades do not have', body: `{"tradeNo":"T1","status":"${LEAK}"}`, problem: /\(status\)$/ },
  ])('createTrade: $name is retryable', async ({ body, problem }) => {
    expectRetryable(await errorOf(body, createTrade), 'payment-platform', 'POST /trades', problem);
  });

  it.each([
    ...common,
    { name: 'an unknown status', body: `{"tradeNo":"T1","status":"${LEAK}","amount":{"value":3000,"currency":"CNY"}}`, problem: /\(status\)$/ },
    { name: 'amount in yuan', body: '{"tradeNo":"T1","status":"SUCCESS","amount":{"value":30.5,"currency":"CNY"}}', problem: /\(amount\.value\)$/ },
    { name: 'another currency', body: '{"tradeNo":"T1","status":"SUCCESS","amount":{"value":3000,"currency":"USD"}}', problem: /\(amount\.currency\)$/ },
    { name: 'no tradeNo and no amount', body: '{"status":"SUCCESS"}', problem: /\(tradeNo, amount\)$/ },
    {
      name: 'a paidAt that is not an instant',
      body: '{"tradeNo":"T1","status":"SUCCESS","amount":{"value":3000,"currency":"CNY"},"paidAt":"20261125160001"}',
      problem: /\(paidAt\)$/,
    },
    {
      name: 'a paidAt without its offset',
      body: '{"tradeNo":"T1","status":"SUCCESS","amount":{"value":3000,"currency":"CNY"},"paidAt":"2026-11-25 16:00:01"}',
      problem: /\(paidAt\)$/,
    },
  ])('queryTrade: $name is retryable', async ({ body, problem }) => {
    expectRetryable(await errorOf(body, queryTrade), 'payment-platform', 'GET /trades/{outTradeNo}', problem);
  });

  it.each([
    ...common,
    { name: 'a status refunds do not have', body: '{"refundNo":"ref-off-1","status":"FAILED"}', problem: /\(status\)$/ },
    { name: 'no refundNo', body: '{"status":"SUCCESS"}', problem: /\(refundNo\)$/ },
  ])('refund: $name is retryable', async ({ body, problem }) => {
    expectRetryable(await errorOf(body, refund), 'payment-platform', 'POST /refunds', problem);
  });

  it('the same partner answering on contract is read (the server above is not the cause)', async () => {
    answer = '{"tradeNo":"T1","status":"SUCCESS","amount":{"value":3000,"currency":"CNY"},"paidAt":"2030-01-01T00:00:00Z"}';
    await expect(queryTrade()).resolves.toEqual({ tradeNo: 'T1', status: 'SUCCESS', amount, paidAt: '2030-01-01T00:00:00Z' });
  });
});

describe('BOSS answering 200 off its contract', () => {
  const open = () =>
    boss().openEntitlement({
      requestId: 'req-off-1',
      subscriberId: 'sub-1',
      smartcardId: '80001',
      productId: 'sports-30',
      channels: ['CCTV-5'],
      validFrom: '2030-01-01T00:00:00.000Z',
      validUntil: '2030-01-31T00:00:00.000Z',
    });

  it.each([
    ...common,
    { name: 'no bossRef', body: `{"status":"ACTIVE","ref":"${LEAK}"}`, problem: /\(bossRef\)$/ },
    { name: 'a bossRef too long', body: `{"bossRef":"${'B'.repeat(257)}","status":"ACTIVE"}`, problem: /\(bossRef\)$/ },
    { name: 'no status', body: '{"bossRef":"B1"}', problem: /\(status\)$/ },
    { name: 'an entitlement that is not open', body: '{"bossRef":"B1","status":"REVOKED"}', problem: /\(status\)$/ },
  ])('openEntitlement: $name is retryable', async ({ body, problem }) => {
    expectRetryable(await errorOf(body, open), 'boss', 'POST /entitlements', problem);
  });

  it('revoke: the contract answers 200 with no body, so the body is not read', async () => {
    answer = `<html>${LEAK}</html>`;
    await expect(boss().revoke('B1', { requestId: 'req-off-2', reason: 'refund' })).resolves.toBeUndefined();
  });
});

describe('SMS gateway answering 2xx with a body', () => {
  it('send: the contract answers 202 with no body, so any 2xx body is not read', async () => {
    answer = `<html>${LEAK}</html>`;
    const message = { messageId: 'm-off-1', to: { msisdn: MSISDN }, templateId: 'T', signName: 'TV', params: {}, text: 'Paid' };
    await expect(createSmsClient({ baseUrl, timeoutMs: 2_000 }).send(message)).resolves.toBeUndefined();
  });
});

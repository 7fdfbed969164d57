/**
 * What the router and the HTTP parser refuse before any route runs (400 bad URL, 404, 405, 413, 414,
 * 415, 431) is problem+json like every other refusal, and its answer never echoes the path: the
 * path is the caller's own text (a probe, markup), which an answer should not repeat. (The request
 * log keeps the URL, as for every request: operators read it, callers do not.)
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { expectProblem } from '../api/support.ts';

const MARKER = 'zz-path-marker-42';
let t: TestLedger;
let url: string;

beforeAll(async () => {
  t = await startTestLedger();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await t.close();
});

const neverEchoes = (body: string): void => {
  expect(body).not.toContain(MARKER);
};

describe('router-level refusals', () => {
  it('400: a path that does not decode (GET /v1/orders/%ZZ), before authentication', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/orders/%ZZ${MARKER}` });
    const body = expectProblem(res, 400, 'bad-request');
    expect(body.detail).toMatch(/not a valid URL/);
    expect(res.body).not.toContain('%ZZ');
    neverEchoes(res.body);
  });

  it('404: no such route', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/${MARKER}?q=${MARKER}` });
    expectProblem(res, 404, 'no-such-route');
    neverEchoes(res.body);
  });

  it('405: the path exists under other methods; Allow lists them', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/orders/${MARKER}`, headers: bearer(TOKENS.admin) });
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.allow).toBe('GET, HEAD');
    neverEchoes(res.body);
    const put = await t.app.inject({ method: 'PUT', url: '/v1/orders' });
    expectProblem(put, 405, 'method-not-allowed');
    expect(String(put.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('413: a body over 64 KiB', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': 'k-413', 'content-type': 'application/json' },
      payload: JSON.stringify({ ...orderBody(), padding: 'x'.repeat(70 * 1024) }),
    });
    expectProblem(res, 413, 'payload-too-large');
  });

  it('414: a path segment longer than any identifier the API takes', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/orders/${MARKER}${'a'.repeat(200)}`, headers: bearer(TOKENS.service) });
    expectProblem(res, 414, 'uri-too-long');
    neverEchoes(res.body);
  });

  it('415: a body that is not JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': 'k-415', 'content-type': 'application/xml' },
      payload: '<order/>',
    });
    expectProblem(res, 415, 'unsupported-media-type');
  });

  it('431: headers larger than the HTTP parser takes, answered on the socket as problem+json', async () => {
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/orders/${MARKER}`, { headers: { 'x-padding': 'x'.repeat(20 * 1024) } }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:tvpay-ledger:problem:headers-too-large', status: 431 });
    neverEchoes(res.body);
  });
});

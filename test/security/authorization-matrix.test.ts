/**
 * Who may call what: every endpoint the app serves × every kind of caller × a resource of the
 * caller's own open-platform client or of another client's. The endpoints are read from fastify
 * itself, so a new route without an entry here fails the first test.
 *
 * Callers: no token, an unknown token, open-platform client A, the phone app, customer service,
 * admin. Resources: placed by client A ("own") or by client B ("other"). An open-platform client
 * sees only its own orders (another client's answers 404, like a missing one); customer service and
 * admin see every order; the phone app acts on payments by id, with the code as proof.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../http/auth.ts';
import { PROBLEM_BASE } from '../../http/problem.ts';
import { API_TOKENS, bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { waitUntil } from '../support/wait.ts';
import { recordingRoutes, type RouteKey } from './routes.ts';

const OTHER_CLIENT = 'test-other-open-platform-token';
const CALLERS = {
  anonymous: undefined,
  'unknown token': 'not-a-token-of-this-service',
  'open-platform': TOKENS.openPlatform,
  'phone-app': TOKENS.phone,
  'customer-service': TOKENS.service,
  admin: TOKENS.admin,
} as const;
type Caller = keyof typeof CALLERS;
type Owner = 'own' | 'other';

type Resource = { orderId: string; paymentId: string; subscriberId: string; smartcardId: string };

type Access =
  /** No token asked (probes, documents, static pages; the demo only while every partner is simulated). */
  | { public: true }
  /** Authenticated by the payment platform's signature, not a token: every caller without one is 401. */
  | { signed: true }
  /** Bearer token of one of these roles; `scoped`: an open-platform client reaches only its own orders. */
  | { roles: readonly Role[]; scoped?: true };

type Entry = Access & {
  /** The answer when the caller is let through, for the resource as the entry sets it up. */
  ok: number;
  /** Needs a resource of its own, just placed (the request changes it, or asks about an order in flight). */
  fresh?: true;
  /** By default the route itself, its `:params` the resource's (see asRouted). */
  request?: (r: Resource, t: TestLedger) => InjectOptions;
};

const DAY = '2026-11-25';
const get = (url: string): InjectOptions => ({ method: 'GET', url });
const post = (url: string, payload?: Record<string, unknown>): InjectOptions => ({ method: 'POST', url, ...(payload && { payload }) });
let demoKeys = 0;

/** The route's own method and path, each `:param` the resource's. */
const asRouted = (route: RouteKey, r: Resource): InjectOptions => {
  const [method, path] = route.split(' ') as ['GET' | 'POST', string];
  return { method, url: path.replace(/:(\w+)/g, (_, param: keyof Resource) => r[param]) };
};

const MATRIX: Record<RouteKey, Entry> = {
  // operations and documents
  'GET /healthz': { public: true, ok: 200 },
  'GET /readyz': { public: true, ok: 200 },
  'GET /metrics': { public: true, ok: 200 },
  'GET /docs': { public: true, ok: 200 },
  'GET /docs/json': { public: true, ok: 200 },
  'GET /docs/yaml': { public: true, ok: 200 },
  'GET /docs/static/*': { public: true, ok: 200, request: () => get('/docs/static/swagger-ui.css') },
  'GET /docs/static/index.html': { public: true, ok: 302 },
  'GET /docs/static/swagger-initializer.js': { public: true, ok: 200 },
  // the console: its pages are public, what it shows comes from the API with the agent's token
  'GET /console': { public: true, ok: 302 },
  'GET /console/*': { public: true, ok: 200, request: () => get('/console/') },
  'GET /console/api/session': { roles: ['customer-service', 'admin'], ok: 200 },
  // the demo (never in production): a household of its own; another household's payment does not exist for it
  'GET /demo/tv': { public: true, ok: 200 },
  'GET /demo/phone': { public: true, ok: 200 },
  'GET /demo/assets/*': { public: true, ok: 404, request: () => get('/demo/assets/no-such-file.js') },
  'GET /demo/api/products': { public: true, ok: 200 },
  'GET /demo/api/tv': { public: true, ok: 200 },
  'GET /demo/api/phone': { public: true, ok: 200 },
  'POST /demo/api/tv/orders': {
    public: true,
    ok: 201,
    request: () => post('/demo/api/tv/orders', { productId: 'sports-month', key: `demo-key-matrix-${++demoKeys}` }),
  },
  'POST /demo/api/phone/payments/:paymentId/confirm': {
    public: true,
    ok: 404,
    request: (r) => post(`/demo/api/phone/payments/${r.paymentId}/confirm`, { code: '123456' }),
  },
  'POST /demo/api/phone/payments/:paymentId/decline': { public: true, ok: 404 },
  'POST /demo/api/phone/payments/:paymentId/resend-code': { public: true, ok: 404 },
  'GET /v1/dev/sms': { roles: ['admin'], ok: 200 },
  // the open platform
  'GET /v1/products': { roles: ['open-platform', 'customer-service'], ok: 200 },
  'POST /v1/orders': {
    roles: ['open-platform'],
    ok: 201,
    request: (r) => ({
      ...post('/v1/orders', { ...orderBody(), subscriberId: `${r.subscriberId}-again` }),
      headers: { 'idempotency-key': `again-${r.orderId}` },
    }),
  },
  'GET /v1/orders/:orderId': { roles: ['open-platform', 'customer-service'], scoped: true, ok: 200 },
  'POST /v1/orders/:orderId/cancel': { roles: ['open-platform', 'customer-service'], scoped: true, ok: 200, fresh: true },
  // a card's entitlements are the card's, whichever client sold them
  'GET /v1/smartcards/:smartcardId/entitlements': { roles: ['open-platform', 'customer-service'], ok: 200 },
  // the phone: payments by id; confirming takes the code sent to the subscriber's phone
  'GET /v1/payments/:paymentId': { roles: ['phone-app', 'customer-service'], ok: 200 },
  'POST /v1/payments/:paymentId/confirm': {
    roles: ['phone-app'],
    ok: 200,
    fresh: true,
    request: (r, t) => post(`/v1/payments/${r.paymentId}/confirm`, { code: t.codeFor(r.paymentId) }),
  },
  'POST /v1/payments/:paymentId/decline': { roles: ['phone-app'], ok: 200, fresh: true },
  'POST /v1/payments/:paymentId/resend-code': {
    roles: ['phone-app', 'customer-service'],
    ok: 200,
    fresh: true,
    request: (r, t) => {
      // Past the resend interval, whether or not the first code's SMS went out yet.
      t.clock.advance(61);
      return post(`/v1/payments/${r.paymentId}/resend-code`);
    },
  },
  // customer service and admin: every order; 409 where the order's state refuses what is asked
  'GET /v1/orders': { roles: ['customer-service'], ok: 200, request: (r) => get(`/v1/orders?subscriberId=${r.subscriberId}`) },
  'GET /v1/orders/:orderId/history': { roles: ['customer-service', 'admin'], ok: 200 },
  'POST /v1/orders/:orderId/reprovision': { roles: ['customer-service'], ok: 409 },
  'GET /v1/outbound': { roles: ['customer-service', 'admin'], ok: 200, request: (r) => get(`/v1/outbound?orderId=${r.orderId}`) },
  'GET /v1/provisioning': { roles: ['customer-service'], ok: 200, request: (r) => get(`/v1/provisioning?orderId=${r.orderId}`) },
  'POST /v1/payments/:paymentId/resolve': {
    roles: ['admin'],
    ok: 409,
    request: (r) => post(`/v1/payments/${r.paymentId}/resolve`, { decision: 'refund', reason: 'matrix' }),
  },
  'POST /v1/subscribers/:subscriberId/erasure': { roles: ['admin'], ok: 409, fresh: true },
  'GET /v1/finance/days': { roles: ['admin'], ok: 200, request: () => get(`/v1/finance/days?from=${DAY}&to=${DAY}`) },
  'GET /v1/finance/entries': { roles: ['admin'], ok: 200, request: () => get(`/v1/finance/entries?day=${DAY}`) },
  'GET /v1/finance/journal': { roles: ['admin'], ok: 200, request: () => get(`/v1/finance/journal?from=${DAY}&to=${DAY}`) },
  'GET /v1/finance/trial-balance': { roles: ['admin'], ok: 200, request: () => get(`/v1/finance/trial-balance?day=${DAY}`) },
  // the payment platform
  'POST /v1/payment-notifications': {
    signed: true,
    ok: 200,
    request: (r) => post('/v1/payment-notifications', { notificationId: `ntf-${r.paymentId}`, paymentId: r.paymentId, status: 'SUCCESS' }),
  },
};

const expected = (entry: Entry, caller: Caller, owner: Owner): number => {
  if ('public' in entry) return entry.ok;
  if ('signed' in entry) return 401;
  if (caller === 'anonymous' || caller === 'unknown token') return 401;
  if (!entry.roles.includes(caller)) return 403;
  if (entry.scoped && caller === 'open-platform' && owner === 'other') return 404;
  return entry.ok;
};

let t: TestLedger;
let routes: RouteKey[];
let placedCount = 0;

/** An order awaiting confirmation, placed by client A (own) or B (other), visible in the read models. */
const fresh = async (owner: Owner): Promise<Resource> => {
  const n = ++placedCount;
  const subscriberId = `sub-matrix-${n}`;
  const smartcardId = `card-matrix-${n}`;
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...bearer(owner === 'own' ? TOKENS.openPlatform : OTHER_CLIENT), 'idempotency-key': `matrix-${n}` },
    // Not the demo household's number: the demo phone acts only on its own household's payments.
    payload: orderBody({ subscriberId, smartcardId, msisdn: '13912345678' }),
  });
  expect(res.statusCode, res.body).toBe(201);
  const { orderId, paymentId } = res.json<{ orderId: string; paymentId: string }>();
  await waitUntil(
    async () => (await t.app.inject({ method: 'GET', url: `/v1/payments/${paymentId}`, headers: bearer(TOKENS.service) })).statusCode === 200,
    `order ${orderId} in the read models`,
  );
  return { orderId, paymentId, subscriberId, smartcardId };
};

beforeAll(async () => {
  const recorded = await recordingRoutes(() =>
    startTestLedger(
      {
        API_TOKENS: `${API_TOKENS},open-platform:${OTHER_CLIENT}`,
        // This test calls every endpoint without a valid token many times from one address.
        RATE_LIMIT_AUTH_FAILURES_PER_IP: '100000',
      },
      { process: true },
    ),
  );
  t = recorded.built;
  routes = recorded.routes;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('authorization matrix', () => {
  it('has an entry for every endpoint the app serves, and none for an endpoint it does not', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(Object.keys(MATRIX).sort()).toEqual(routes);
  });

  it('every endpoint × every caller × own and another client’s resource answers as the matrix says', async () => {
    const shared = { own: await fresh('own'), other: await fresh('other') };
    const seen: string[] = [];
    const wrong: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX) as [RouteKey, Entry][]) {
      for (const owner of ['own', 'other'] as const) {
        for (const [caller, token] of Object.entries(CALLERS) as [Caller, string | undefined][]) {
          const want = expected(entry, caller, owner);
          const resource = entry.fresh && want === entry.ok ? await fresh(owner) : shared[owner];
          const req = entry.request?.(resource, t) ?? asRouted(route, resource);
          const res = await t.app.inject({ ...req, headers: { ...req.headers, ...(token !== undefined && bearer(token)) } });
          const cell = `${route} as ${caller} on ${owner === 'own' ? 'client A’s' : 'client B’s'} resource`;
          seen.push(cell);
          if (res.statusCode !== want) wrong.push(`${cell}: ${res.statusCode}, not ${want} (${res.body.replace(/\s+/g, ' ').slice(0, 120)})`);
          else if (
            want >= 400 &&
            !(/^application\/problem\+json/.test(String(res.headers['content-type'])) && res.json<{ type?: string }>().type?.startsWith(PROBLEM_BASE))
          ) {
            wrong.push(`${cell}: ${want} but not problem+json`);
          }
        }
      }
    }
    // Every cell is reported at once: a table of what is wrong reads better than the first failure.
    expect(wrong).toEqual([]);
    expect(seen.length).toBe(Object.keys(MATRIX).length * 2 * Object.keys(CALLERS).length);
  }, 120_000);

  it('another client’s order answers exactly like a missing one (nothing tells the two apart)', async () => {
    const theirs = await fresh('other');
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', ''],
      ['POST', '/cancel'],
    ] as const) {
      const a = await t.app.inject({ method, url: `/v1/orders/${theirs.orderId}${path}`, headers: bearer(TOKENS.openPlatform) });
      const b = await t.app.inject({ method, url: `/v1/orders/${missing}${path}`, headers: bearer(TOKENS.openPlatform) });
      expect(a.statusCode).toBe(404);
      expect(b.statusCode).toBe(404);
      expect(a.headers['content-type']).toBe(b.headers['content-type']);
      expect(a.json()).toEqual(JSON.parse(b.body.replaceAll(missing, theirs.orderId)));
    }
  });
});

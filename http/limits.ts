/**
 * Abuse limits (@fastify/rate-limit, counted in this process's memory): failed authentication per
 * client address, confirm and resend per payment and per address, order placement per client.
 * Over a limit: 429 problem+json naming the limit, with Retry-After (seconds to the window's end).
 *
 * Register before the authentication plugin and before any route: the failed-authentication check
 * must run before the token is refused, and the per-route limits attach to routes as they are added
 * (after authentication, so the per-client limit knows the client).
 */
import { isIP } from 'node:net';
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { authenticate, ROLES, ownerOf, type TokenTable } from './auth.ts';
import { HttpProblem } from './problem.ts';

export const LIMIT_NAMES = [
  'auth-failures-per-ip',
  'confirm-per-payment',
  'confirm-per-ip',
  'resend-per-payment',
  'resend-per-ip',
  'orders-per-client',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/**
 * Requests per window (60 s by default). Five wrong codes already fail a payment and resends are
 * spaced by the domain: the per-payment limits only stop bursts. The per-address limits are wide
 * because phones behind a carrier's NAT share addresses.
 */
export const LIMIT_DEFAULTS: Readonly<Record<LimitName, number>> = {
  'auth-failures-per-ip': 30,
  'confirm-per-payment': 10,
  'confirm-per-ip': 300,
  'resend-per-payment': 5,
  'resend-per-ip': 60,
  'orders-per-client': 600,
};

export type LimitsOptions = {
  windowSeconds: number;
  max: Readonly<Record<LimitName, number>>;
  /** To tell a failed authentication from a successful one before the authentication plugin answers. */
  tokens: TokenTable;
  /** Called for every request refused by a limit (the metrics count it). */
  onLimited?: (limit: LimitName) => void;
};

type Key = (req: FastifyRequest) => string;

/**
 * The client's address as the per-address limits count it. An IPv6 address counts by its /64: one
 * subscriber's network holds 2^64 of them, each its own key otherwise. An IPv4 address mapped into
 * IPv6 (::ffff:a.b.c.d) counts as itself.
 */
export const addressKey = (ip: string): string => {
  const bare = ip.split('%')[0] ?? ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1]) return mapped[1];
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  // An embedded IPv4 address at the end takes two groups.
  const width = (gs: string[]): number => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const full =
    tail === undefined ? groups(head) : [...groups(head), ...Array<string>(8 - width(groups(head)) - width(groups(tail))).fill('0'), ...groups(tail)];
  return `${full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
};

const address: Key = (req) => addressKey(req.ip);
const payment: Key = (req) => {
  const { paymentId } = req.params as { paymentId?: unknown };
  return typeof paymentId === 'string' ? paymentId : '';
};
const client: Key = (req) => (req.actor ? ownerOf(req.actor) : req.ip);

/** What each limit counts by. */
const KEY_OF: Readonly<Record<LimitName, Key>> = {
  'auth-failures-per-ip': address,
  'confirm-per-payment': payment,
  'confirm-per-ip': address,
  'resend-per-payment': payment,
  'resend-per-ip': address,
  'orders-per-client': client,
};

/**
 * Which limits each route counts, in order (route as `METHOD url`, as fastify registers it). The
 * address first: a request its address may no longer make adds no key to the per-payment limit, so
 * one address cannot flood that limit's memory with payment ids until a payment's count is forgotten.
 */
const ROUTE_LIMITS: Readonly<Record<string, readonly LimitName[]>> = {
  'POST /v1/payments/:paymentId/confirm': ['confirm-per-ip', 'confirm-per-payment'],
  'POST /v1/payments/:paymentId/resend-code': ['resend-per-ip', 'resend-per-payment'],
  'POST /v1/orders': ['orders-per-client'],
};

/** Keys each limit remembers; past it the longest-unused is forgotten (its count starts again). */
const KEYS_PER_LIMIT = 10_000;

/**
 * Fixed-window counts in this process's memory. The plugin's own LocalStore hands every caller the
 * same mutable counter and reads it after an await, so in a burst every request saw the burst's last
 * count and all were refused; here each caller gets its own snapshot of the count it made.
 */
class CountingStore implements FastifyRateLimitStore {
  private readonly windows = new Map<string, { count: number; startMs: number }>();

  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
    const now = Date.now();
    const found = this.windows.get(key);
    const w = found && found.startMs + timeWindow > now ? found : { count: 0, startMs: now };
    w.count += 1;
    // Map order is insertion order: re-inserting makes this key the most recently used.
    this.windows.delete(key);
    this.windows.set(key, w);
    if (this.windows.size > KEYS_PER_LIMIT) this.windows.delete(this.windows.keys().next().value ?? key);
    callback(null, { current: w.count, ttl: w.startMs + timeWindow - now });
  }

  child(): FastifyRateLimitStore {
    return new CountingStore();
  }
}

export const tooManyRequests = (limit: LimitName, retryAfterSeconds: number): HttpProblem =>
  new HttpProblem(
    429,
    'rate-limited',
    'Too many requests',
    `the ${limit} limit is reached; retry after ${retryAfterSeconds} s`,
    { 'retry-after': String(retryAfterSeconds) },
    { limit },
  );

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts a failed authentication the route found itself (a bad platform signature) against the
     * caller's address; throws the 429 once the address is past its limit.
     */
    failedAuthentication(req: FastifyRequest): Promise<void>;
  }
}

const limits: FastifyPluginAsync<LimitsOptions> = async (app, opts) => {
  await app.register(rateLimit, { global: false, store: CountingStore });
  const timeWindow = opts.windowSeconds * 1000;
  const counters = new Map(
    LIMIT_NAMES.map((limit) => [limit, app.createRateLimit({ max: opts.max[limit], timeWindow, keyGenerator: (req) => `${limit}:${KEY_OF[limit](req)}` })]),
  );

  const count = async (req: FastifyRequest, limit: LimitName): Promise<void> => {
    const counter = counters.get(limit);
    if (!counter) throw new Error(`no counter for the ${limit} limit`);
    const r = await counter(req);
    if (r.isAllowed || !r.isExceeded) return;
    opts.onLimited?.(limit);
    req.log.info({ limit }, 'request refused: rate limited');
    throw tooManyRequests(limit, Math.max(1, r.ttlInSeconds));
  };

  app.decorate('failedAuthentication', (req: FastifyRequest) => count(req, 'auth-failures-per-ip'));

  // Only requests that will be refused as unauthenticated are counted: a caller with a valid token
  // is never slowed by someone else guessing tokens from the same address.
  app.addHook('onRequest', async (req) => {
    if (!req.routeOptions.config.roles) return;
    if (authenticate(opts.tokens, req.headers.authorization, ROLES).ok) return;
    await count(req, 'auth-failures-per-ip');
  });

  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const counted = ROUTE_LIMITS[`${method} ${route.url}`];
      if (!counted) continue;
      const hook = async (req: FastifyRequest): Promise<void> => {
        for (const limit of counted) await count(req, limit);
      };
      route.onRequest = [...[route.onRequest ?? []].flat(), hook];
    }
  });
};

export const limitsPlugin = fastifyPlugin(limits, { name: 'tvpay-limits' });

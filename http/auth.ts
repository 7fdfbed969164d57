/**
 * Callers authenticate with `Authorization: Bearer <token>`; each token has one role, and may
 * name the person who holds it (`role:name:token`), so events and logs say which agent acted.
 * Missing or unknown token: 401. Known token, wrong role: 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Actor } from '../stores/event-store.ts';
import { forbidden, unauthorized } from './problem.ts';

export const ROLES = ['open-platform', 'phone-app', 'customer-service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Documented dev tokens, used only outside production when API_TOKENS is unset. */
export const DEV_TOKENS =
  'open-platform:dev-open-platform-token,phone-app:dev-phone-app-token,customer-service:dev-customer-service-token,admin:dev-admin-token';

type Entry = { role: Role; digest: Buffer; client: string; name?: string };
export type TokenTable = readonly Entry[];

const digestOf = (token: string): Buffer => createHash('sha256').update(token).digest();

const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** An agent's name as it appears in events, logs and the console: letters of any script, digits, '.', '_', '-'. */
const NAME = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$/u;

/**
 * `role:token` or `role:name:token`, so a token never contains ':' (one that did would now read as
 * a name and a shorter token); more than three parts is refused rather than guessed at.
 */
export const parseApiTokens = (spec: string): TokenTable => {
  const table = entriesOf(spec);
  // One token, one caller: the same token under two entries would be whichever comes first, silently.
  const repeated = table.findIndex((e, i) => table.findIndex((f) => f.digest.equals(e.digest)) !== i);
  if (repeated >= 0) throw new Error(`entry ${repeated + 1} repeats the token of an earlier entry: each token names one caller`);
  return table;
};

const entriesOf = (spec: string): TokenTable =>
  spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const parts = entry.split(':');
      const role = parts[0] ?? '';
      if (parts.length < 2 || !isRole(role)) throw new Error(`"${role || entry.slice(0, 20)}" is not a role (${ROLES.join(', ')})`);
      if (parts.length > 3) throw new Error(`a ${role} entry has more than three ':'-separated parts (role:token or role:name:token)`);
      const name = parts.length === 3 ? parts[1] : undefined;
      const token = parts.at(-1) ?? '';
      if (name !== undefined && !NAME.test(name)) {
        throw new Error(`the name of a ${role} token must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
      }
      if (token.length < 8) throw new Error(`the ${role} token${name ? ` of ${name}` : ''} is shorter than 8 characters`);
      const digest = digestOf(token);
      // The client id names the token without revealing it; idempotency keys are scoped to it.
      return { role, digest, client: `${role}/${digest.toString('hex').slice(0, 12)}`, ...(name !== undefined && { name }) };
    });

export type AuthResult = { ok: true; actor: Actor & { role: Role } } | { ok: false; status: 401 | 403 };

export const authenticate = (table: TokenTable, header: string | undefined, allowed: readonly Role[]): AuthResult => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return { ok: false, status: 401 };
  const digest = digestOf(m[1]);
  const entry = table.find((e) => timingSafeEqual(e.digest, digest));
  if (!entry) return { ok: false, status: 401 };
  if (!allowed.includes(entry.role)) return { ok: false, status: 403 };
  return { ok: true, actor: { role: entry.role, client: entry.client, ...(entry.name !== undefined && { name: entry.name }) } };
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on the route; a route without roles is public or authenticates itself (notifications). */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    /** Who made the request, set by the auth plugin on routes with roles; null elsewhere. */
    actor: Actor | null;
  }
}

/** Which roles may call each route, as the routes declare them (the console offers only what the API allows). */
export type RouteRoles = { routesFor(role: string): string[] };

export type AuthOptions = {
  tokens: TokenTable;
  /** Filled as routes are registered: register the plugin before any route. */
  routeRoles?: { record(route: string, roles: readonly Role[]): void };
};

export const routeRoles = (): RouteRoles & { record(route: string, roles: readonly Role[]): void } => {
  const byRoute = new Map<string, readonly Role[]>();
  return {
    record: (route, roles) => byRoute.set(route, roles),
    routesFor: (role) => [...byRoute].filter(([, roles]) => roles.some((r) => r === role)).map(([route]) => route),
  };
};

/**
 * Authentication for every route that declares roles (`config: { roles }`): 401 without a known
 * token, 403 for a role the route does not allow, and otherwise the caller's actor on the request.
 * Not encapsulated: it applies to the routes registered after it, in every plugin.
 */
const authenticateRoutes: FastifyPluginAsync<AuthOptions> = async (app, { tokens, routeRoles: roles }) => {
  app.decorateRequest('actor', null);
  if (roles) {
    app.addHook('onRoute', (route) => {
      const allowed = route.config?.roles;
      if (allowed) for (const method of [route.method].flat()) roles.record(`${method} ${route.url}`, allowed);
    });
  }
  app.addHook('onRequest', async (req, reply) => {
    const allowed = req.routeOptions.config.roles;
    if (!allowed) return;
    const result = authenticate(tokens, req.headers.authorization, allowed);
    if (!result.ok) throw result.status === 401 ? unauthorized() : forbidden();
    req.actor = result.actor;
    // Every later line about this request says who made it (the token's client id, and the agent's name if it has one).
    req.log = req.log.child({ actor: result.actor });
    reply.log = req.log;
  });
};

export const authPlugin = fastifyPlugin(authenticateRoutes, { name: 'tvpay-auth' });

/**
 * Which client an actor is, for isolation and per-client limits: the token's name when it has one
 * (so a client keeps its orders across a token rotation: give the new token the same name), else
 * the token's client id.
 */
export const ownerOf = (actor: Actor): string => `${actor.role}:${actor.name ?? actor.client}`;

/** The caller of a route with roles. A route without roles that asks is a bug. */
export const actorOf = (req: FastifyRequest): Actor => {
  if (!req.actor) throw new Error(`route ${req.routeOptions.url ?? req.url} has no roles, so no actor`);
  return req.actor;
};

/**
 * Callers authenticate with `Authorization: Bearer <token>`; each token has one role.
 * Missing or unknown token: 401. Known token, wrong role: 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../stores/event-store.ts';

export const ROLES = ['open-platform', 'phone-app', 'customer-service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Documented dev tokens, used only outside production when API_TOKENS is unset. */
export const DEV_TOKENS =
  'open-platform:dev-open-platform-token,phone-app:dev-phone-app-token,customer-service:dev-customer-service-token,admin:dev-admin-token';

type Entry = { role: Role; digest: Buffer; client: string };
export type TokenTable = readonly Entry[];

const digestOf = (token: string): Buffer => createHash('sha256').update(token).digest();

const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

export const parseApiTokens = (spec: string): TokenTable =>
  spec
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const sep = pair.indexOf(':');
      const role = pair.slice(0, sep);
      const token = pair.slice(sep + 1);
      if (sep <= 0 || !isRole(role)) throw new Error(`"${role || pair.slice(0, 20)}" is not a role (${ROLES.join(', ')})`);
      if (token.length < 8) throw new Error(`the ${role} token is shorter than 8 characters`);
      const digest = digestOf(token);
      // The client id names the token without revealing it; idempotency keys are scoped to it.
      return { role, digest, client: `${role}/${digest.toString('hex').slice(0, 12)}` };
    });

export type AuthResult = { ok: true; actor: Actor & { role: Role } } | { ok: false; status: 401 | 403 };

export const authenticate = (table: TokenTable, header: string | undefined, allowed: readonly Role[]): AuthResult => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return { ok: false, status: 401 };
  const digest = digestOf(m[1]);
  const entry = table.find((e) => timingSafeEqual(e.digest, digest));
  if (!entry) return { ok: false, status: 401 };
  if (!allowed.includes(entry.role)) return { ok: false, status: 403 };
  return { ok: true, actor: { role: entry.role, client: entry.client } };
};

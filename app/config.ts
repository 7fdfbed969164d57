/**
 * Configuration from the environment (API.md, "Configuration"). Pure: the
 * composition root passes process.env in; nothing else reads it.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { parseApiTokens, DEV_TOKENS, type TokenTable } from '../http/auth.ts';
import { LIMIT_DEFAULTS, type LimitName } from '../http/limits.ts';
import { projectFile } from './project.ts';

export type Config = {
  production: boolean;
  port: number;
  host: string;
  dataDir: string;
  catalogFile: string;
  /** SMS_TEMPLATES_FILE: the SMS templates and sender signature (default: the shipped sms-templates.json). */
  smsTemplatesFile: string;
  eventstoreUrl: string | undefined;
  mongodbUrl: string | undefined;
  tokens: TokenTable;
  /** True when the documented dev tokens are in use (never in production). */
  devTokens: boolean;
  paymentPlatformUrl: string | undefined;
  /** First signs our requests; all are accepted on notifications (rotation). */
  paymentPlatformSecrets: readonly string[];
  /** PUBLIC_BASE_URL: how the payment platform reaches us; unset, the address the service listens on. */
  publicBaseUrl: string | undefined;
  bossUrl: string | undefined;
  bossToken: string | undefined;
  smsGatewayUrl: string | undefined;
  /** OPEN_PLATFORM_CALLBACK_URL and its signing secret; undefined: no callbacks (the open platform polls). */
  openPlatformCallback: { url: string; secret: string } | undefined;
  /** Undefined outside production: generated once per data dir. */
  codeSecret: string | undefined;
  /** DATA_KEY_SECRET's entries: the first wraps subscribers' data keys, all unwrap (rotation). Undefined outside production: generated once per data dir. */
  dataKeySecrets: readonly string[] | undefined;
  /** The embedded key store's file (without MONGODB_URL): DATA_KEYS_FILE, default DATA_DIR/keys.db. */
  dataKeysFile: string;
  /** PII_RETENTION_DAYS: subscribers with no order activity for this long are erased, daily. Undefined: never. */
  piiRetentionDays: number | undefined;
  orderTtlSeconds: number;
  codeTtlSeconds: number;
  paymentQueryAfterSeconds: number;
  /** How long an unknown payment outcome (a trade, a query, a refund) is asked about before a person must look. */
  paymentQueryDeadlineSeconds: number;
  /** A partner's timestamp further than this from our clock is flagged (metrics, log). */
  partnerClockSkewSeconds: number;
  retryBaseMs: number;
  retryMaxAttempts: number;
  /** How long a lease (a projection's, the outbound worker's) outlives its last renewal; renewed every third of it. */
  leaseTtlMs: number;
  /** Each lane's circuit breaker: failed calls in a row that open it, and its first cool-down (doubling, up to 8×). */
  breaker: { threshold: number; cooldownMs: number };
  /** Per partner lane: calls in flight at once and one call's timeout. */
  lanes: { sms: LaneConfig; platform: LaneConfig; boss: LaneConfig; callback: LaneConfig };
  /** The proxies whose X-Forwarded-For is believed (TRUST_PROXY); empty: the socket's address is the client's. */
  trustProxy: string[];
  /** Abuse limits (http/limits.ts): requests allowed per key in one window. */
  limits: { windowSeconds: number; max: Record<LimitName, number> };
  /** CONSUMERS: which consumers this process runs (app/consumers.ts checks the names). */
  consumers: ConsumerChoice;
  logLevel: string;
};

/** Every consumer, none, or the ones named. */
export type ConsumerChoice = 'all' | readonly string[];

export type LaneConfig = { concurrency: number; timeoutMs: number };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Used only when no secret is configured outside production, with the simulated platform. */
export const DEV_PLATFORM_SECRET = 'dev-platform-secret';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = z.url();

/** The shortest secret accepted, in every entry of a rotation list (a short one must not hide behind a long one). */
const SECRET_MIN = 32;
/** A comma-separated rotation list of secrets; a refusal names the entry by its place, never by its value. */
const rotationList = z.string().superRefine((value, ctx) => {
  const entries = value.split(',');
  entries.forEach((entry, i) => {
    if (entry.length < SECRET_MIN) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} of ${entries.length} is shorter than ${SECRET_MIN} characters` });
  });
});
/** A comma-separated list: entries trimmed, empty ones dropped. */
const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== ''),
);
/** proxy-addr's names for address ranges (fastify's trustProxy), besides addresses and CIDR blocks. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];
/** The widest block a proxy entry may name (10.0.0.0/8, fd00::/8): wider ones trust a good part of the Internet. */
const WIDEST_PROXY_BLOCK = 8;
/**
 * TRUST_PROXY: the proxies whose X-Forwarded-For names the client, comma-separated addresses, CIDR
 * blocks or range names. Never "everyone", nor a share of it (0.0.0.0/1,128.0.0.0/1): then any caller
 * could pick the address its limits count.
 */
const trustedProxies = commaList.superRefine((entries, ctx) => {
  entries.forEach((entry, i) => {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (PROXY_RANGES.includes(entry)) return;
    const width = family === 4 || family === 6 ? (prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix)) : Number.NaN;
    const cidr = family !== 0 && rest.length === 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix)) && width <= (family === 4 ? 32 : 128);
    if (!cidr) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not an address, a CIDR block or one of ${PROXY_RANGES.join(', ')}` });
      return;
    }
    if (width < WIDEST_PROXY_BLOCK) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} trusts a block wider than /${WIDEST_PROXY_BLOCK}: name the proxies, not the Internet` });
    }
  });
});
/** Every partner lane: calls in flight at once (its own default), and one call's timeout. */
const laneConcurrency = (fallback: number) => int(1, 256).default(fallback);
const laneTimeoutMs = int(100, 120_000).default(5000);
/** RATE_LIMIT_*: requests one key may make in a window; unset, the limit's default (http/limits.ts). */
const limitMax = (name: LimitName) => int(1, 1_000_000).default(LIMIT_DEFAULTS[name]);
/** CONSUMERS: `all`, `none`, or comma-separated names (the service checks them against its consumers). */
const consumerChoice = commaList
  .refine((names) => names.length > 0, 'all, none, or comma-separated consumer names')
  .refine((names) => names.length === 1 || !names.some((n) => n === 'all' || n === 'none'), 'all and none stand alone')
  .refine((names) => names.every((n) => /^[a-z][a-z-]{0,39}$/.test(n)), 'consumer names are lower-case words: orders, outbound, worker, …')
  .transform((names): ConsumerChoice => (names[0] === 'all' ? 'all' : names[0] === 'none' ? [] : [...new Set(names)]));
/** Partners that are simulated in-process while their URL is unset: never in production. */
const PARTNER_URLS = ['PAYMENT_PLATFORM_URL', 'BOSS_URL', 'SMS_GATEWAY_URL'] as const;

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRUST_PROXY: trustedProxies.default([]),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Default: the catalog.json shipped with the service, wherever it is started from. */
  CATALOG_FILE: z.string().min(1).default(projectFile('catalog.json')),
  SMS_TEMPLATES_FILE: z.string().min(1).default(projectFile('sms-templates.json')),
  EVENTSTORE_URL: z
    .string()
    .regex(/^(esdb|kurrentdb|kdb|esdb\+discover|kurrentdb\+discover):\/\//, 'an esdb:// or kurrentdb:// connection string')
    .optional(),
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'a mongodb:// connection string')
    .optional(),
  API_TOKENS: z.string().min(1).optional(),
  PAYMENT_PLATFORM_URL: url.optional(),
  PAYMENT_PLATFORM_SECRET: rotationList.optional(),
  PUBLIC_BASE_URL: url.optional(),
  BOSS_URL: url.optional(),
  BOSS_TOKEN: z.string().min(1).optional(),
  SMS_GATEWAY_URL: url.optional(),
  OPEN_PLATFORM_CALLBACK_URL: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).optional(),
  OPEN_PLATFORM_CALLBACK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  CODE_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  DATA_KEY_SECRET: rotationList.optional(),
  DATA_KEYS_FILE: z.string().min(1).optional(),
  PII_RETENTION_DAYS: int(1, 36_500).optional(),
  ORDER_TTL_SECONDS: int(1, 7 * 24 * 3600).default(900),
  CODE_TTL_SECONDS: int(1, 24 * 3600).default(300),
  PAYMENT_QUERY_AFTER_SECONDS: int(1, 24 * 3600).default(120),
  PAYMENT_QUERY_DEADLINE_SECONDS: int(60, 30 * 24 * 3600).default(86_400),
  PARTNER_CLOCK_SKEW_SECONDS: int(1, 24 * 3600).default(600),
  RETRY_BASE_MS: int(1, 600_000).default(1000),
  RETRY_MAX_ATTEMPTS: int(1, 100).default(8),
  LEASE_TTL_MS: int(1000, 600_000).default(15_000),
  OUTBOUND_BREAKER_THRESHOLD: int(1, 1000).default(5),
  OUTBOUND_BREAKER_COOLDOWN_MS: int(10, 600_000).default(2000),
  SMS_CONCURRENCY: laneConcurrency(16),
  SMS_TIMEOUT_MS: laneTimeoutMs,
  PAYMENT_PLATFORM_CONCURRENCY: laneConcurrency(16),
  PAYMENT_PLATFORM_TIMEOUT_MS: laneTimeoutMs,
  BOSS_CONCURRENCY: laneConcurrency(8),
  BOSS_TIMEOUT_MS: laneTimeoutMs,
  OPEN_PLATFORM_CALLBACK_CONCURRENCY: laneConcurrency(4),
  OPEN_PLATFORM_CALLBACK_TIMEOUT_MS: laneTimeoutMs,
  RATE_LIMIT_WINDOW_SECONDS: int(1, 24 * 3600).default(60),
  RATE_LIMIT_AUTH_FAILURES_PER_IP: limitMax('auth-failures-per-ip'),
  RATE_LIMIT_CONFIRM_PER_PAYMENT: limitMax('confirm-per-payment'),
  RATE_LIMIT_CONFIRM_PER_IP: limitMax('confirm-per-ip'),
  RATE_LIMIT_RESEND_PER_PAYMENT: limitMax('resend-per-payment'),
  RATE_LIMIT_RESEND_PER_IP: limitMax('resend-per-ip'),
  RATE_LIMIT_ORDERS_PER_CLIENT: limitMax('orders-per-client'),
  CONSUMERS: consumerChoice.default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every variable the configuration reads (.env.example lists them all; a test keeps it so). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export const loadConfig = (env: Readonly<Record<string, string | undefined>>): Config => {
  // An empty variable counts as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production) {
    const missing = (['API_TOKENS', 'PAYMENT_PLATFORM_SECRET', 'CODE_SECRET', 'DATA_KEY_SECRET'] as const).filter((k) => e[k] === undefined);
    if (missing.length > 0) throw new ConfigError(`production needs ${missing.join(', ')}`);
    // Without its URL a partner is simulated: orders would be "paid" with no money and channels opened for nothing.
    const simulated = PARTNER_URLS.filter((k) => e[k] === undefined);
    if (simulated.length > 0) throw new ConfigError(`production needs ${simulated.join(', ')} (a partner without its URL is simulated)`);
  }
  if (e.BOSS_URL !== undefined && e.BOSS_TOKEN === undefined) throw new ConfigError('BOSS_TOKEN: required with BOSS_URL');
  if (e.PAYMENT_PLATFORM_URL !== undefined && e.PAYMENT_PLATFORM_SECRET === undefined) {
    throw new ConfigError('PAYMENT_PLATFORM_SECRET: required with PAYMENT_PLATFORM_URL');
  }
  if (e.OPEN_PLATFORM_CALLBACK_URL !== undefined && e.OPEN_PLATFORM_CALLBACK_SECRET === undefined) {
    throw new ConfigError('OPEN_PLATFORM_CALLBACK_SECRET: required with OPEN_PLATFORM_CALLBACK_URL');
  }
  let tokens: TokenTable;
  try {
    tokens = parseApiTokens(e.API_TOKENS ?? DEV_TOKENS);
  } catch (err) {
    throw new ConfigError(`API_TOKENS: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    catalogFile: e.CATALOG_FILE,
    smsTemplatesFile: e.SMS_TEMPLATES_FILE,
    eventstoreUrl: e.EVENTSTORE_URL,
    mongodbUrl: e.MONGODB_URL,
    tokens,
    devTokens: e.API_TOKENS === undefined,
    paymentPlatformUrl: e.PAYMENT_PLATFORM_URL,
    paymentPlatformSecrets: (e.PAYMENT_PLATFORM_SECRET ?? DEV_PLATFORM_SECRET).split(',').filter((s) => s.length > 0),
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    bossUrl: e.BOSS_URL,
    bossToken: e.BOSS_TOKEN,
    smsGatewayUrl: e.SMS_GATEWAY_URL,
    openPlatformCallback:
      e.OPEN_PLATFORM_CALLBACK_URL !== undefined && e.OPEN_PLATFORM_CALLBACK_SECRET !== undefined
        ? { url: e.OPEN_PLATFORM_CALLBACK_URL, secret: e.OPEN_PLATFORM_CALLBACK_SECRET }
        : undefined,
    codeSecret: e.CODE_SECRET,
    dataKeySecrets: e.DATA_KEY_SECRET?.split(','),
    dataKeysFile: e.DATA_KEYS_FILE ?? join(e.DATA_DIR, 'keys.db'),
    piiRetentionDays: e.PII_RETENTION_DAYS,
    orderTtlSeconds: e.ORDER_TTL_SECONDS,
    codeTtlSeconds: e.CODE_TTL_SECONDS,
    paymentQueryAfterSeconds: e.PAYMENT_QUERY_AFTER_SECONDS,
    paymentQueryDeadlineSeconds: e.PAYMENT_QUERY_DEADLINE_SECONDS,
    partnerClockSkewSeconds: e.PARTNER_CLOCK_SKEW_SECONDS,
    retryBaseMs: e.RETRY_BASE_MS,
    retryMaxAttempts: e.RETRY_MAX_ATTEMPTS,
    leaseTtlMs: e.LEASE_TTL_MS,
    breaker: { threshold: e.OUTBOUND_BREAKER_THRESHOLD, cooldownMs: e.OUTBOUND_BREAKER_COOLDOWN_MS },
    lanes: {
      sms: { concurrency: e.SMS_CONCURRENCY, timeoutMs: e.SMS_TIMEOUT_MS },
      platform: { concurrency: e.PAYMENT_PLATFORM_CONCURRENCY, timeoutMs: e.PAYMENT_PLATFORM_TIMEOUT_MS },
      boss: { concurrency: e.BOSS_CONCURRENCY, timeoutMs: e.BOSS_TIMEOUT_MS },
      callback: { concurrency: e.OPEN_PLATFORM_CALLBACK_CONCURRENCY, timeoutMs: e.OPEN_PLATFORM_CALLBACK_TIMEOUT_MS },
    },
    trustProxy: e.TRUST_PROXY,
    limits: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      max: {
        'auth-failures-per-ip': e.RATE_LIMIT_AUTH_FAILURES_PER_IP,
        'confirm-per-payment': e.RATE_LIMIT_CONFIRM_PER_PAYMENT,
        'confirm-per-ip': e.RATE_LIMIT_CONFIRM_PER_IP,
        'resend-per-payment': e.RATE_LIMIT_RESEND_PER_PAYMENT,
        'resend-per-ip': e.RATE_LIMIT_RESEND_PER_IP,
        'orders-per-client': e.RATE_LIMIT_ORDERS_PER_CLIENT,
      },
    },
    consumers: e.CONSUMERS,
    logLevel: e.LOG_LEVEL,
  };
};

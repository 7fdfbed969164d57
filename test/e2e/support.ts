/**
 * End-to-end support: the service and the three simulators as REAL child processes on
 * 127.0.0.1, talked to over HTTP only (global fetch). Every child is registered and killed by
 * `killAll()` (call it in afterAll/afterEach), and — as a last resort — when this process exits.
 *
 * Waiting is always on a condition with a deadline (`waitUntil`), polled at a short interval:
 * never a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { startEsdbStandIn, type EsdbStandIn } from '../support/esdb-standin/server.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export const TOKENS = {
  openPlatform: 'e2e-open-platform-token',
  phone: 'e2e-phone-app-token',
  service: 'e2e-customer-service-token',
  admin: 'e2e-admin-token',
} as const;
export const API_TOKENS = `open-platform:${TOKENS.openPlatform},phone-app:${TOKENS.phone},customer-service:${TOKENS.service},admin:${TOKENS.admin}`;
export const PLATFORM_SECRET = 'e2e-platform-secret-0123456789abcdef';
export const BOSS_TOKEN = 'e2e-boss-token-0123456789';
export const CODE_SECRET = 'e2e-code-secret-0123456789abcdef0123456789';
/** Shared by every process on one log, like CODE_SECRET: each must unwrap the others' data keys. */
export const DATA_KEY_SECRET = 'e2e-data-key-secret-0123456789abcdef012345';

/* ------------------------------------------------------------------ waiting */

export class Timeout extends Error {
  override readonly name = 'Timeout';
}

/** Thrown by a probe to stop waiting at once (the outcome can no longer happen). */
export class GiveUp extends Error {
  override readonly name = 'GiveUp';
}

/**
 * Polls `probe` until it returns something other than undefined/false, or throws after
 * `timeoutMs`. `intervalMs` only spaces the polls (HTTP round trips) so they do not starve
 * the processes under test on a 2-core machine; nothing waits a fixed time for an outcome.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string | (() => string),
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const label = typeof what === 'string' ? what : what();
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Timeout(`timed out after ${timeoutMs} ms waiting for ${label}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/* ---------------------------------------------------------------- processes */

/** A child process with the tail of its output kept for failure messages. */
export type Child = {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** The last lines of stdout and stderr. */
  output(): string;
  /** SIGKILL now, resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const live = new Set<Child>();

// Last resort (a crashed worker, a forgotten afterAll): never leave a child behind.
process.once('exit', () => {
  for (const c of live) if (!c.hasExited()) c.proc.kill('SIGKILL');
});

const MAX_OUTPUT_LINES = 200;

function spawnChild(name: string, args: string[], env: Record<string, string>): Child {
  return spawnProcess(name, process.execPath, args, { env });
}

/**
 * Any command as a registered child (killed by killAll): `node …` with another working directory
 * (the compiled build), `npm start`. The environment is clean: what `env` sets, plus PATH and HOME.
 */
export function spawnProcess(name: string, command: string, args: string[], opts: { env: Record<string, string>; cwd?: string }): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    // A clean environment: only what the scenario sets, plus what node itself needs.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NODE_ENV: 'test', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(`[${name} ${stream}] ${line}`);
      if (lines.length > MAX_OUTPUT_LINES) lines.shift();
    }
  };
  proc.stdout?.on('data', keep('out'));
  proc.stderr?.on('data', keep('err'));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolveExit({ code, signal });
    });
    proc.once('error', (err) => {
      lines.push(`[${name}] spawn error: ${err.message}`);
      done = true;
      live.delete(child);
      resolveExit({ code: null, signal: null });
    });
  });
  const child: Child = {
    name,
    proc,
    exited,
    hasExited: () => done,
    output: () => lines.join('\n'),
    kill: async () => {
      if (!done) proc.kill('SIGKILL');
      await exited;
    },
    stop: async (graceMs = 5_000) => {
      if (done) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  live.add(child);
  return child;
}

/** SIGKILLs every child still running. For afterAll/afterEach: also runs when a test failed. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
  await closeStandIns();
}

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port'))));
    });
  });
}

export function tempDir(prefix = 'tvpay-e2e-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/* --------------------------------------------------------------- simulators */

export type SimUrls = { platform: string; boss: string; sms: string };
export type Simulators = { urls: SimUrls; child: Child };

const isSimUrls = (v: unknown): v is SimUrls =>
  typeof v === 'object' && v !== null && 'platform' in v && 'boss' in v && 'sms' in v &&
  typeof v.platform === 'string' && typeof v.boss === 'string' && typeof v.sms === 'string';

/** Starts the three simulators (serve.ts --kind all) and reads the one JSON line with their URLs. */
export async function startSimulators(extraArgs: string[] = [], timeoutMs = 30_000): Promise<Simulators> {
  const child = spawnChild(
    'sims',
    ['--import', 'tsx', 'integrations/simulators/serve.ts', '--kind', 'all', '--port', '0', '--host', '127.0.0.1', '--secret', PLATFORM_SECRET, '--boss-token', BOSS_TOKEN, ...extraArgs],
    {},
  );
  return { urls: await simulatorUrls(child, timeoutMs), child };
}

/** Reads the one JSON line with their URLs that serve.ts prints once listening; kills the child on failure. */
export async function simulatorUrls(child: Child, timeoutMs = 30_000): Promise<SimUrls> {
  return new Promise<SimUrls>((resolveUrls, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Timeout(`simulators did not print their URLs within ${timeoutMs} ms\n${child.output()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      child.proc.stdout?.off('data', onData);
      clearTimeout(timer);
      try {
        const parsed: unknown = JSON.parse(buffered.slice(0, nl));
        if (isSimUrls(parsed)) resolveUrls(parsed);
        else reject(new Error(`simulators printed an unexpected line: ${buffered.slice(0, nl)}`));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    child.proc.stdout?.on('data', onData);
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`simulators exited early (code ${code}, signal ${signal})\n${child.output()}`));
    });
  }).catch(async (err: unknown) => {
    await child.kill();
    throw err;
  });
}

/* ------------------------------------------------------------------ service */

export type ServiceOptions = {
  dataDir: string;
  port: number;
  sims: SimUrls;
  /** Overrides and additions (ORDER_TTL_SECONDS, PAYMENT_QUERY_AFTER_SECONDS, …). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
};

export type RunningService = { url: string; child: Child; env: Record<string, string> };

/*
 * Which stores the service runs on, from TVPAY_E2E_STORES:
 * - embedded (default): SQLite files in the data dir;
 * - esdb-standin: EventStoreDB through the wire-level stand-in (one per data dir, kept across restarts);
 * - real: EVENTSTORE_URL and MONGODB_URL from this process's environment (npm run test:integration),
 *   with a MongoDB database of its own per data dir.
 */
const standIns = new Map<string, EsdbStandIn>();

const storeEnv = async (dataDir: string): Promise<Record<string, string>> => {
  const stores = process.env.TVPAY_E2E_STORES ?? 'embedded';
  switch (stores) {
    case 'embedded':
      return {};
    case 'esdb-standin': {
      let standIn = standIns.get(dataDir);
      if (!standIn) {
        standIn = await startEsdbStandIn({ batchAppend: true });
        standIns.set(dataDir, standIn);
      }
      return { EVENTSTORE_URL: standIn.connectionString };
    }
    case 'real': {
      const { EVENTSTORE_URL, MONGODB_URL } = process.env;
      if (!EVENTSTORE_URL || !MONGODB_URL) throw new Error('TVPAY_E2E_STORES=real needs EVENTSTORE_URL and MONGODB_URL');
      const db = `tvpay_e2e_${basename(dataDir).replace(/[^A-Za-z0-9]/g, '_')}`;
      return { EVENTSTORE_URL, MONGODB_URL: MONGODB_URL.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${db}`) };
    }
    default:
      throw new Error(`TVPAY_E2E_STORES: unknown ${stores}`);
  }
};

const closeStandIns = async (): Promise<void> => {
  await Promise.all([...standIns.values()].map((s) => s.close()));
  standIns.clear();
};

export const serviceEnv = (o: ServiceOptions): Record<string, string> => {
  const url = `http://127.0.0.1:${o.port}`;
  return {
    PORT: String(o.port),
    HOST: '127.0.0.1',
    DATA_DIR: o.dataDir,
    API_TOKENS,
    PAYMENT_PLATFORM_URL: o.sims.platform,
    PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET,
    PUBLIC_BASE_URL: url,
    BOSS_URL: o.sims.boss,
    BOSS_TOKEN,
    SMS_GATEWAY_URL: o.sims.sms,
    CODE_SECRET,
    DATA_KEY_SECRET,
    ORDER_TTL_SECONDS: '900',
    CODE_TTL_SECONDS: '300',
    PAYMENT_QUERY_AFTER_SECONDS: '60',
    RETRY_BASE_MS: '20',
    RETRY_MAX_ATTEMPTS: '6',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    ...o.env,
  };
};

/** Starts `node --import tsx scripts/start.ts` and waits (bounded) for GET /readyz to answer 200. */
export async function startService(o: ServiceOptions): Promise<RunningService> {
  const env = { ...(await storeEnv(o.dataDir)), ...serviceEnv(o) };
  const url = `http://127.0.0.1:${o.port}`;
  const child = spawnChild(`service:${o.port}`, ['--import', 'tsx', 'scripts/start.ts'], env);
  await serviceReady(child, url, o.readyTimeoutMs);
  return { url, child, env };
}

/** Waits (bounded) for GET /readyz on `url` to answer 200; kills the child and throws with its output otherwise. */
export async function serviceReady(child: Child, url: string, timeoutMs = 45_000): Promise<void> {
  try {
    await waitUntil(
      async () => {
        if (child.hasExited()) throw new GiveUp('the service exited before it was ready');
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await r.body?.cancel();
        return r.status === 200;
      },
      () => `the service on ${url} to be ready`,
      timeoutMs,
      50,
    );
  } catch (err) {
    const how = child.hasExited() ? `it exited: ${JSON.stringify(await child.exited)}` : 'it is still running';
    await child.kill();
    throw new Error(`${err instanceof Error ? err.message : String(err)} (${how})\n${child.output()}`);
  }
}

/* --------------------------------------------------------------------- HTTP */

export type Reply<T = Record<string, unknown>> = { status: number; body: T; headers: Headers };

type Json = Record<string, unknown>;

async function call<T>(method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') body = JSON.parse(text);
  return { status: res.status, body: body as T, headers: res.headers };
}

export type OrderBody = { subscriberId: string; smartcardId: string; msisdn: string; productId: string; paymentMethod: 'mobile' };

export type PlacedOrder = { orderId: string; paymentId: string; status: string; amount: { value: number; currency: string }; expiresAt: string };

export type HistoryEvent = { streamId: string; revision: number; position: string; id: string; type: string; data: Json; metadata: Json; recordedAt: string };

export type ProvisioningTask = { taskId: string; orderId: string; requestNo: number; status: string; attempts: number; lastError: string | null; outcome: string | null };

/** The ledger's API as its callers use it, with the test tokens. */
export const ledgerApi = (base: () => string) => ({
  placeOrder: (body: OrderBody, key: string) =>
    call<PlacedOrder & Json>('POST', `${base()}/v1/orders`, { token: TOKENS.openPlatform, body, headers: { 'idempotency-key': key } }),
  order: (orderId: string) => call<Json>('GET', `${base()}/v1/orders/${orderId}`, { token: TOKENS.service }),
  orders: (query: Record<string, string>) =>
    call<{ items: Json[]; nextCursor: string | null }>('GET', `${base()}/v1/orders?${new URLSearchParams(query)}`, { token: TOKENS.service }),
  history: (orderId: string) => call<{ orderId: string; events: HistoryEvent[] }>('GET', `${base()}/v1/orders/${orderId}/history`, { token: TOKENS.service }),
  payment: (paymentId: string) => call<Json>('GET', `${base()}/v1/payments/${paymentId}`, { token: TOKENS.phone }),
  confirm: (paymentId: string, code: string) => call<Json>('POST', `${base()}/v1/payments/${paymentId}/confirm`, { token: TOKENS.phone, body: { code } }),
  decline: (paymentId: string) => call<Json>('POST', `${base()}/v1/payments/${paymentId}/decline`, { token: TOKENS.phone, body: {} }),
  entitlements: (smartcardId: string) =>
    call<{ smartcardId: string; entitlements: Array<{ productId: string; name: string; channels: string[]; validFrom: string; validUntil: string }> }>(
      'GET',
      `${base()}/v1/smartcards/${smartcardId}/entitlements`,
      { token: TOKENS.openPlatform },
    ),
  provisioning: (query: Record<string, string>) =>
    call<{ items: ProvisioningTask[]; nextCursor: string | null }>('GET', `${base()}/v1/provisioning?${new URLSearchParams(query)}`, { token: TOKENS.service }),
});

export type LedgerApi = ReturnType<typeof ledgerApi>;

export type SmsMessage = { messageId: string; to: { msisdn?: string; smartcardId?: string }; text: string; receivedAt: string; duplicates: number };
export type SimTrade = { outTradeNo: string; tradeNo: string; status: string; amount: { value: number; currency: string }; msisdn: string };
export type SimRefund = { outTradeNo: string; refundNo: string; amount: { value: number; currency: string }; status: string };
export type SimNotification = {
  notificationId: string;
  outTradeNo: string;
  dropped: boolean;
  held: boolean;
  copies: number;
  attempts: Array<{ copy: number; attempt: number; httpStatus: number | null; accepted: boolean }>;
  delivered: boolean;
  finished: boolean;
};
export type SimCall = { at: string; method: string; path: string; key: string | null; userAgent: string | null; status: number };

export type BossInspection = {
  entitlements: Array<{ requestId: string; smartcardId: string; productId: string; channels: string[]; validFrom: string; validUntil: string; bossRef: string; status: string }>;
  distinctRequestIds: number;
  calls: number;
  refusals: number;
};

/** The simulators' inspection and fault endpoints (/_sim/…). */
export const simApi = (urls: SimUrls) => ({
  messages: async (filter: { msisdn?: string; smartcardId?: string } = {}) =>
    (await call<{ messages: SmsMessage[] }>('GET', `${urls.sms}/_sim/messages?${new URLSearchParams(filter)}`)).body.messages,
  trades: async () => (await call<SimTrade[]>('GET', `${urls.platform}/_sim/trades`)).body,
  refunds: async () => (await call<SimRefund[]>('GET', `${urls.platform}/_sim/refunds`)).body,
  notifications: async () => (await call<SimNotification[]>('GET', `${urls.platform}/_sim/notifications`)).body,
  boss: async () => (await call<BossInspection>('GET', `${urls.boss}/_sim/entitlements`)).body,
  /** Every API call the partner received, with its Idempotency-Key and the caller's User-Agent (its pid). */
  calls: async (kind: keyof SimUrls) => (await call<SimCall[]>('GET', `${urls[kind]}/_sim/calls`)).body,
  faults: async (kind: keyof SimUrls, patch: Json) => {
    const r = await call<Json>('POST', `${urls[kind]}/_sim/faults`, { body: patch });
    if (r.status !== 200) throw new Error(`POST ${kind} /_sim/faults ${JSON.stringify(patch)}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  },
});

export type SimApi = ReturnType<typeof simApi>;

/* ---------------------------------------------------------------- scenarios */

/** The one-time code in an SMS: the 6 digits after 验证码. */
export const codeIn = (text: string): string | undefined => /验证码(\d{6})/.exec(text)?.[1];

let seq = 0;
/** A fresh subscriber, card and phone for one order (the phone's last 4 digits vary). */
export const freshOrderBody = (over: Partial<OrderBody> = {}): OrderBody => {
  seq++;
  const n = (process.pid * 1000 + seq) % 100_000_000;
  return {
    subscriberId: `sub-e2e-${process.pid}-${seq}`,
    smartcardId: `8${String(process.pid % 1000).padStart(3, '0')}${String(seq).padStart(12, '0')}`,
    msisdn: `139${String(n).padStart(8, '0')}`,
    productId: 'sports-month',
    paymentMethod: 'mobile',
    ...over,
  };
};

/** Waits for the code SMS to `msisdn` (the newest one) and returns its code. */
export const waitForCode = async (sims: SimApi, msisdn: string, timeoutMs = 15_000): Promise<string> =>
  waitUntil(
    async () => {
      const codes = (await sims.messages({ msisdn })).map((m) => codeIn(m.text)).filter((c): c is string => c !== undefined);
      return codes.at(-1);
    },
    'the code SMS',
    timeoutMs,
  );

const FINAL_STATUSES = new Set(['provisioned', 'cancelled', 'expired', 'payment_failed', 'refunded']);

/** Waits until the order's read model shows `status`; fails fast on a different final status. */
export const waitForStatus = async (api: LedgerApi, orderId: string, status: string, timeoutMs = 20_000): Promise<Json> => {
  let last = '';
  return waitUntil(
    async () => {
      const r = await api.order(orderId);
      last = String(r.body.status);
      if (r.status === 200 && last !== status && FINAL_STATUSES.has(last)) throw new GiveUp(`order ${orderId} ended ${last}, expected ${status}`);
      return r.status === 200 && r.body.status === status ? r.body : undefined;
    },
    () => `order status ${status} (last seen: ${last})`,
    timeoutMs,
  );
};

/** Orders two history positions ("commit/prepare", as the API prints them): negative when a is earlier. */
export const comparePositions = (a: string, b: string): number => {
  const parse = (s: string): [bigint, bigint] => {
    const m = /^(\d+)\/(\d+)$/.exec(s);
    if (!m?.[1] || !m[2]) throw new Error(`not a position: ${s}`);
    return [BigInt(m[1]), BigInt(m[2])];
  };
  const [x, y] = [parse(a), parse(b)];
  const d = x[0] === y[0] ? x[1] - y[1] : x[0] - y[0];
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};

export const eventTypes = (events: readonly HistoryEvent[]): string[] => events.map((e) => e.type);
export const countOf = (events: readonly HistoryEvent[], type: string): number => events.filter((e) => e.type === type).length;

/** The service as a real process (`scripts/start.ts`), on the store stack TVPAY_E2E_STORES names. */
import { basename } from 'node:path';
import { startEsdbStandIn, type EsdbStandIn } from '../support/esdb-standin/server.ts';
import { API_TOKENS, BOSS_TOKEN, CODE_SECRET, DATA_KEY_SECRET, PLATFORM_SECRET } from '../support/fixtures.ts';
import { GiveUp, waitUntil } from '../support/wait.ts';
import { registerCleanup, spawnChild, type Child } from './processes.ts';
import type { SimUrls } from './simulators.ts';

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
        registerCleanup(closeStandIns);
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
      { timeoutMs: timeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    const how = child.hasExited() ? `it exited: ${JSON.stringify(await child.exited)}` : 'it is still running';
    await child.kill();
    throw new Error(`${err instanceof Error ? err.message : String(err)} (${how})\n${child.output()}`);
  }
}

/**
 * Several ledger processes at once, as an operator scales them, over real HTTP with the simulators as
 * their own process. The partners' call logs (/_sim/calls: every call with its idempotency key and the
 * caller's pid) prove that every outbound call is made once, whoever made it:
 * - two processes on one EventStoreDB, each with its own embedded read store (each holds its own lease);
 * - three processes on one EventStoreDB and one MongoDB replica set (one worker active, the others standby);
 * - two processes on one data directory (SQLite events and read models shared): no request fails;
 * - the same, split by CONSUMERS and started at once: every call is made by the worker process, once;
 * - one of them paused (SIGSTOP) past its lease: after it wakes it starts no attempt, and says standby.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEsdbStandIn, type EsdbStandIn } from '../support/esdb-standin/server.ts';
import { startMongoStandin } from '../support/mongo-standin/server.ts';
import { freePort, killAll, mapLimit, tempDir } from './processes.ts';
import { freshOrderBody, waitForCode, waitForStatus } from './scenarios.ts';
import { ledgerApi } from './http.ts';
import { simApi, startSimulators, type SimApi, type SimCall, type Simulators } from './simulators.ts';
import { startService, type RunningService } from './service.ts';
import { waitUntil } from '../support/wait.ts';

let sims: Simulators;
let sim: SimApi;
const dirs: { remove(): void }[] = [];

beforeAll(async () => {
  sims = await startSimulators();
  sim = simApi(sims.urls);
});
afterEach(async () => {
  // Each scenario gets its own services; the simulators and their logs are shared, so each counts its own keys.
  await Promise.all(running.splice(0).map((s) => s.child.kill()));
});
afterAll(async () => {
  await killAll();
  for (const d of dirs) d.remove();
});

const running: RunningService[] = [];
const start = async (dataDir: string, env: Record<string, string>): Promise<RunningService> => {
  const s = await startService({ dataDir, port: await freePort(), sims: sims.urls, env: { PAYMENT_QUERY_AFTER_SECONDS: '60', ...env } });
  running.push(s);
  return s;
};
const dir = (): string => {
  const d = tempDir();
  dirs.push(d);
  return d.path;
};

/** Places and confirms `n` orders round-robin over the services; returns their ids and the keys their calls carry. */
const wholeOrders = async (services: RunningService[], n: number) =>
  mapLimit(
    Array.from({ length: n }, (_, i) => i),
    10,
    async (i) => {
      const api = ledgerApi(() => (services[i % services.length] as RunningService).url);
      const body = freshOrderBody();
      const placed = await api.placeOrder(body, `mp-${body.subscriberId}`);
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      const code = await waitForCode(sim, body.msisdn);
      const confirm = ledgerApi(() => (services[(i + 1) % services.length] as RunningService).url);
      expect((await confirm.confirm(placed.body.paymentId, code)).status).toBe(200);
      await waitForStatus(api, placed.body.orderId, 'provisioned', 30_000);
      return placed.body;
    },
  );

/** Calls per idempotency key among these orders' keys, for one partner operation. */
const callsPerKey = (calls: SimCall[], path: RegExp, belongs: (key: string) => boolean): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const c of calls) {
    if (!path.test(c.path) || c.key === null || !belongs(c.key)) continue;
    counts.set(c.key, (counts.get(c.key) ?? 0) + 1);
  }
  return counts;
};

/** Every SMS, trade and BOSS request of these orders reached its partner exactly once. */
const expectEachCallOnce = async (orders: { orderId: string; paymentId: string }[]) => {
  const ours = (key: string) => orders.some((o) => key.includes(o.orderId) || key.includes(o.paymentId));
  // Per order: the TV's order message, the code, two paid messages and the TV's provisioned message
  // (the last one leaves just after the order shows provisioned).
  const sms = await waitUntil(
    async () => {
      const counts = callsPerKey(await sim.calls('sms'), /^\/messages$/, ours);
      return counts.size === orders.length * 5 ? counts : undefined;
    },
    `${orders.length * 5} distinct messages`,
  );
  const trades = callsPerKey(await sim.calls('platform'), /^\/trades$/, ours);
  const boss = callsPerKey(await sim.calls('boss'), /^\/entitlements$/, ours);
  expect(trades.size).toBe(orders.length);
  expect(boss.size).toBe(orders.length);
  const twice = [...sms, ...trades, ...boss].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
};

describe('e2e: several ledger processes, every call made once', () => {
  // A log of its own per scenario: the numbers one scenario sealed are for its key store only.
  let esdb: EsdbStandIn;
  beforeEach(async () => {
    esdb = await startEsdbStandIn({ batchAppend: true });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.child.kill()));
    await esdb.close();
  });

  it('two processes on one EventStoreDB, each with its own read store: 20 whole orders, each SMS, trade and BOSS request sent once', {
    timeout: 180_000,
  }, async () => {
    // The data keys are shared (docs/privacy.md): one key store file for both, and one DATA_KEY_SECRET.
    const env = { EVENTSTORE_URL: esdb.connectionString, DATA_KEYS_FILE: `${dir()}/keys.db` };
    const services = [await start(dir(), env), await start(dir(), env)];
    const orders = await wholeOrders(services, 20);
    await expectEachCallOnce(orders);
  });

  it('three processes on one EventStoreDB and one MongoDB replica set: one worker active, the others standby; each call once', {
    timeout: 180_000,
  }, async () => {
    const mongo = await startMongoStandin({ replicaSet: true });
    try {
      const env = { EVENTSTORE_URL: esdb.connectionString, MONGODB_URL: mongo.url };
      const services = [await start(dir(), env), await start(dir(), env), await start(dir(), env)];
      const orders = await wholeOrders(services, 12);
      await expectEachCallOnce(orders);
      const states = await Promise.all(
        services.map(async (s) => ((await (await fetch(`${s.url}/readyz`)).json()) as { checks: Record<string, string> }).checks.taskWorker),
      );
      expect(states.sort()).toEqual(['active', 'standby', 'standby']);
    } finally {
      await Promise.all(running.splice(0).map((s) => s.child.kill()));
      await mongo.close();
    }
  });
});

describe('e2e: two processes on one data directory', () => {
  it('both serve at once: 24 placements and confirms spread over both, none fails, every answer of 200 is applied', { timeout: 180_000 }, async () => {
    const shared = dir();
    const services = [await start(shared, {}), await start(shared, {})];
    const orders = await wholeOrders(services, 24);
    await expectEachCallOnce(orders);
  });

  it('split by CONSUMERS, started at once: the API process with every read model, the worker process with the reactors and every call; each call made once', {
    timeout: 180_000,
  }, async () => {
    const shared = dir();
    const [api, worker] = await Promise.all([
      start(shared, { CONSUMERS: 'orders,entitlements,outbound,finance,journal,subscribers,erasure' }),
      start(shared, { CONSUMERS: 'process,worker,seal,retention' }),
    ]);
    const orders = await wholeOrders([api], 12);
    await expectEachCallOnce(orders);
    const callers = new Set((await sim.calls('sms')).filter((c) => orders.some((o) => c.key?.includes(o.orderId))).map((c) => c.userAgent));
    expect([...callers]).toEqual([expect.stringContaining(`pid ${worker.child.proc.pid})`)]);
    const checks = async (s: RunningService) => ((await (await fetch(`${s.url}/readyz`)).json()) as { checks: Record<string, string> }).checks;
    expect(await checks(api)).toMatchObject({
      'projection:orders': 'active',
      'projection:outbound': 'active',
      'projection:process': 'elsewhere',
      taskWorker: 'elsewhere',
    });
    expect(await checks(worker)).toMatchObject({
      'projection:orders': 'elsewhere',
      'projection:outbound': 'elsewhere',
      'projection:process': 'active',
      taskWorker: 'active',
    });
  });

  it('one paused (SIGSTOP) past its lease: the other takes over, and after waking the paused one starts no attempt and says standby', {
    timeout: 180_000,
  }, async () => {
    const shared = dir();
    const env = { LEASE_TTL_MS: '3000' };
    const services = [await start(shared, env), await start(shared, env)];
    const readyz = async (s: RunningService) => ((await (await fetch(`${s.url}/readyz`)).json()) as { checks: Record<string, string> }).checks;
    const active = await waitUntil(async () => {
      for (const s of services) if ((await readyz(s)).taskWorker === 'active') return s;
      return undefined;
    }, 'one active worker');
    const other = services.find((s) => s !== active) as RunningService;
    const pid = active.child.proc.pid;
    // Messages take a moment, so calls are under way when the active process is frozen.
    await sim.faults('sms', { latencyMs: 200 });
    try {
      const api = ledgerApi(() => other.url);
      const bodies = Array.from({ length: 8 }, () => freshOrderBody());
      const before = await mapLimit(bodies, 8, async (b) => {
        const placed = await api.placeOrder(b, `pause-${b.subscriberId}`);
        expect(placed.status).toBe(201);
        return placed.body;
      });
      active.child.proc.kill('SIGSTOP');
      // Past the lease (3 s) and every claim (the SMS timeout, 5 s, and a margin): the other process takes over.
      await waitUntil(async () => ((await readyz(other)).taskWorker === 'active' ? true : undefined), 'the other worker to take over', { timeoutMs: 20_000 });
      // Every code reaches its phone while the first process is still frozen: the other took its claims over.
      for (const b of bodies) await waitForCode(sim, b.msisdn, 30_000);
      const wokeAt = new Date().toISOString();
      active.child.proc.kill('SIGCONT');
      // It says standby (another process holds the lease), not failing.
      await waitUntil(async () => ((await readyz(active)).taskWorker === 'standby' ? true : undefined), 'the woken worker to stand by', { timeoutMs: 20_000 });
      // More work after it woke, placed through it: every message of it is sent by the other process.
      const more = Array.from({ length: 4 }, () => freshOrderBody());
      const after = await mapLimit(more, 4, async (b) => {
        const placed = await ledgerApi(() => active.url).placeOrder(b, `after-${b.subscriberId}`);
        expect(placed.status).toBe(201);
        return placed.body;
      });
      for (const b of more) await waitForCode(sim, b.msisdn, 30_000);
      const calls = await sim.calls('sms');
      const fromPaused = (c: SimCall): boolean => c.userAgent?.includes(`pid ${pid})`) ?? false;
      const late = calls.filter((c) => c.at > wokeAt && fromPaused(c));
      const ofOrders = (placed: { orderId: string; paymentId: string }[]) => (c: SimCall) =>
        placed.some((p) => c.key?.startsWith(`sms:${p.orderId}:`) || c.key?.startsWith(`sms:${p.paymentId}:`));
      // After waking it starts no attempt: the work placed since is all sent by the other process. A
      // request it had begun before the freeze may still leave its socket after it wakes (no check in
      // the caller can take back a request already on its way, docs/outbound.md): at most one per
      // task, with the task's idempotency key, so the gateway stores that message once.
      const ofAfter = calls.filter(ofOrders(after));
      expect(ofAfter.length).toBeGreaterThanOrEqual(more.length);
      expect(ofAfter.filter(fromPaused)).toEqual([]);
      expect(late.every(ofOrders(before))).toBe(true);
      expect(new Set(late.map((c) => c.key)).size).toBe(late.length);
    } finally {
      active.child.proc.kill('SIGCONT');
      await sim.faults('sms', { latencyMs: 0 });
    }
  });
});

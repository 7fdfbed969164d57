/**
 * End to end, real processes: the service is SIGKILLed while its projections are in the middle of
 * their batches, with orders coming in. The read store runs with synchronous=NORMAL and commits many
 * events per transaction; docs/durability.md argues that a crash can then lose a tail of commits but
 * never split one, and that the projections redo that tail from their checkpoints. Here: after the
 * restart, every read model equals one built from nothing out of the same log — nothing lost, nothing twice.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions as compare, type Position } from '../../stores/event-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';
import { compareWithFreshBuild } from '../support/read-models.ts';
import { freePort, killAll, mapLimit, startScript, tempDir } from './processes.ts';
import { freshOrderBody, waitForCode, waitForStatus } from './scenarios.ts';
import { ledgerApi } from './http.ts';
import { simApi, startSimulators, type SimApi, type Simulators } from './simulators.ts';
import { serviceEnv, startService, type RunningService } from './service.ts';
import { waitUntil } from '../support/wait.ts';

const READ_MODELS = ['orders', 'entitlements', 'outbound', 'finance'];
const SEEDED = 150;

let sims: Simulators;
let sim: SimApi;
let service: RunningService;
let data: { path: string; remove(): void };
let port: number;
const api = ledgerApi(() => service.url);
const env = { PAYMENT_QUERY_AFTER_SECONDS: '600' };

beforeAll(async () => {
  data = tempDir();
  sims = await startSimulators();
  sim = simApi(sims.urls);
  port = await freePort();
  service = await startService({ dataDir: data.path, port, sims: sims.urls, env });
});

afterAll(async () => {
  await killAll();
  data?.remove();
});

type Placed = { orderId: string; paymentId: string };

const placeAndConfirm = async (): Promise<Placed> => {
  const body = freshOrderBody();
  const placed = await api.placeOrder(body, `durable-${body.subscriberId}`);
  expect(placed.status).toBe(201);
  expect((await api.confirm(placed.body.paymentId, await waitForCode(sim, body.msisdn))).status).toBe(200);
  return { orderId: placed.body.orderId, paymentId: placed.body.paymentId };
};

describe('e2e: SIGKILL during projection batches', () => {
  it('after a restart, every read model equals one built from nothing: no event lost, none applied twice', { timeout: 300_000 }, async () => {
    const seeded = await mapLimit(Array.from({ length: SEEDED }), 10, placeAndConfirm);
    for (const o of seeded) await waitForStatus(api, o.orderId, 'provisioned', 60_000);

    // A backlog too: the same log, the read models gone. The next start catches up in batches of many events.
    expect(await service.child.stop(30_000)).toEqual({ code: 0, signal: null });
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(data.path, `read.db${suffix}`), { force: true });
    const events = await openSqliteEventStore(join(data.path, 'events.db'));
    const head = await events.headPosition();
    await events.close();
    if (!head) throw new Error('no events');

    // Started without waiting for it to be ready: the kill must land while it catches up.
    const victim = startScript('start', [], serviceEnv({ dataDir: data.path, port, sims: sims.urls, env }));
    // Load while it catches up: orders placed as fast as four callers can (they retry until it answers).
    let loading = true;
    const during: string[] = [];
    const load = mapLimit([0, 1, 2, 3], 4, async () => {
      while (loading && during.length < 200) {
        const body = freshOrderBody();
        const placed = await api.placeOrder(body, `durable-${body.subscriberId}`).catch(() => undefined);
        if (placed?.status === 201) during.push(placed.body.orderId);
        else await new Promise((r) => setTimeout(r, 20)); // not listening yet, or killed
      }
    });
    // Kill once the orders flow, while some projection holds events it has not committed yet.
    const log = await openSqliteEventStore(join(data.path, 'events.db'));
    const reads = openSqliteReadStore(join(data.path, 'read.db'));
    let midway: string | undefined;
    try {
      midway = await waitUntil(
        async () => {
          if (during.length < 20) return undefined;
          const now = await log.headPosition();
          for (const name of READ_MODELS) {
            const at: Position | null = await reads.checkpoint(name).catch(() => null);
            if (now && at && compare(at, now) < 0) return `${name} at ${at.commit} of ${now.commit}`;
          }
          return undefined;
        },
        'orders flowing while a projection is behind the head of the log',
        { timeoutMs: 60_000, intervalMs: 2 },
      );
      await victim.kill();
    } finally {
      await reads.close();
      await log.close();
    }
    expect(midway).toMatch(/ at \d+ of \d+$/);
    loading = false;
    await load;

    // Restart: the projections carry on from their checkpoints; the callers retry what was in flight.
    service = await startService({ dataDir: data.path, port, sims: sims.urls, env });
    for (const o of seeded) await waitForStatus(api, o.orderId, 'provisioned', 60_000);
    for (const orderId of during) await waitForStatus(api, orderId, 'awaiting_confirmation', 60_000);
    expect(await service.child.stop(30_000)).toEqual({ code: 0, signal: null });

    const { kept, fresh, orders } = await compareWithFreshBuild(service.env);
    expect(kept['orders']).toHaveLength(orders);
    expect(kept).toEqual(fresh);
  });
});

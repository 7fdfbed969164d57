/**
 * End to end, real processes: the service is SIGKILLed while its projections are in the middle of
 * their batches, with orders coming in. The read store runs with synchronous=NORMAL and commits many
 * events per transaction; docs/durability.md argues that a crash can then lose a tail of commits but
 * never split one, and that the projections redo that tail from their checkpoints. Here: after the
 * restart, every read model equals one built from nothing out of the same log — nothing lost, nothing twice.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparePositions as compare, type Position } from '../../stores/event-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';
import { compareWithFreshBuild } from '../support/read-models.ts';
import { mapLimit, startScript } from './processes.ts';
import { freshOrderBody, waitForStatus } from './scenarios.ts';
import { serviceEnv } from './service.ts';
import { e2eStack } from '../support/e2e-stack.ts';
import { waitUntil } from '../support/wait.ts';

const READ_MODELS = ['orders', 'entitlements', 'outbound', 'finance'];
const SEEDED = 150;

const e2e = e2eStack({ PAYMENT_QUERY_AFTER_SECONDS: '600' });
const { api } = e2e;

describe('e2e: SIGKILL during projection batches', () => {
  it('after a restart, every read model equals one built from nothing: no event lost, none applied twice', { timeout: 300_000 }, async () => {
    const seeded = await e2e.provisionedOrders(SEEDED, 'durable');

    // A backlog too: the same log, the read models gone. The next start catches up in batches of many events.
    expect(await e2e.service.child.stop(30_000)).toEqual({ code: 0, signal: null });
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(e2e.dataDir, `read.db${suffix}`), { force: true });
    const events = await openSqliteEventStore(join(e2e.dataDir, 'events.db'));
    const head = await events.headPosition();
    await events.close();
    if (!head) throw new Error('no events');

    // Started without waiting for it to be ready: the kill must land while it catches up.
    const victim = startScript('start', [], serviceEnv(e2e.options));
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
    const log = await openSqliteEventStore(join(e2e.dataDir, 'events.db'));
    const reads = openSqliteReadStore(join(e2e.dataDir, 'read.db'));
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
    await e2e.restart();
    for (const o of seeded) await waitForStatus(api, o.orderId, 'provisioned', 60_000);
    for (const orderId of during) await waitForStatus(api, orderId, 'awaiting_confirmation', 60_000);
    expect(await e2e.service.child.stop(30_000)).toEqual({ code: 0, signal: null });

    const { kept, fresh, orders } = await compareWithFreshBuild(e2e.service.env);
    expect(kept['orders']).toHaveLength(orders);
    expect(kept).toEqual(fresh);
  });
});

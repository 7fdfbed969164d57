/**
 * Rebuilding every read model while the service serves, on each store stack (SQLite; EventStoreDB and
 * MongoDB through their stand-ins). The rebuild opens its own connections, as `npm run rebuild` in
 * another process would. Orders keep flowing and queries keep being asked the whole time: every query
 * answers, the service's projections move to the new versions by themselves, and the rebuilt read
 * models end equal to ones built from nothing.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTITLEMENTS } from '../../projections/entitlements.ts';
import { rebuild } from '../../projections/rebuild.ts';
import { openEsdbEventStore } from '../../stores/esdb/event-store.ts';
import type { EventStore } from '../../stores/event-store.ts';
import { openMongoReadStore } from '../../stores/mongodb/read-store.ts';
import type { ReadStore } from '../../stores/read-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { readModelContents } from '../support/read-models.ts';
import { caughtUp, orderInStatus, placeAndConfirm } from './support.ts';
import { stacks } from './stacks.ts';

const READ_MODELS = ['orders', 'entitlements', 'outbound', 'finance'];

let t: TestLedger | undefined;
const closers: Array<() => Promise<void>> = [];
/** Ends the test's own traffic (queries, orders): a failed test must not leave it asking a closed service. */
let stopTraffic: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopTraffic?.();
  stopTraffic = undefined;
  await t?.close();
  t = undefined;
  for (const close of closers.splice(0).reverse()) await close();
});

/** Connections of their own to the service's stores, as a separate rebuild process has. */
const ownStores = async (ledger: TestLedger, readDb: string): Promise<{ events: EventStore; reads: ReadStore }> => {
  const esdb = ledger.env['EVENTSTORE_URL'];
  const mongo = ledger.env['MONGODB_URL'];
  const events = esdb ? await openEsdbEventStore(esdb) : await openSqliteEventStore(join(ledger.dataDir, 'events.db'));
  const reads = mongo
    ? await openMongoReadStore(mongo, readDb)
    : openSqliteReadStore(join(ledger.dataDir, readDb === 'tvpay_read' ? 'read.db' : `${readDb}.db`));
  closers.push(async () => {
    await reads.close();
    await events.close();
  });
  return { events, reads };
};

describe.each(stacks)('rebuild while serving, on $name', (stack) => {
  it('every query answers throughout, the service follows the switch, and the result equals a fresh build', { timeout: 120_000 }, async () => {
    const started = await stack.start();
    closers.push(started.close);
    const ledger = await startTestLedger({ ...started.env, RETRY_BASE_MS: '5' }, { process: true });
    t = ledger;
    const models = READ_MODELS.map((name) => {
      const def = ledger.service.definitions.find((d) => d.name === name);
      if (!def) throw new Error(`no read model ${name}`);
      return def;
    });

    let n = 0;
    const order = async (): Promise<{ orderId: string; paymentId: string; card: string }> => {
      n += 1;
      const card = `81000000000${String(n).padStart(5, '0')}`;
      const placed = await placeAndConfirm(ledger, `rebuild-${n}`, {
        smartcardId: card,
        msisdn: `1390000${String(n).padStart(4, '0')}`,
        subscriberId: `sub-${n}`,
      });
      return { ...placed, card };
    };
    const before = [];
    for (let i = 0; i < 6; i++) before.push(await order());
    for (const o of before) await orderInStatus(ledger, o.orderId, 'provisioned');

    // Queries, all the time: what was provisioned before the rebuild stays visible, whole.
    let serving = true;
    const failures: string[] = [];
    let asked = 0;
    const ask = async (url: string, token: string, check: (body: Record<string, unknown>) => boolean): Promise<void> => {
      const r = await ledger.app.inject({ method: 'GET', url, headers: bearer(token) });
      asked += 1;
      // inject can answer within microtasks: let timers and I/O (the rebuild, the projections) run between queries.
      await new Promise((resolve) => setImmediate(resolve));
      if (r.statusCode !== 200 || !check(r.json<Record<string, unknown>>())) failures.push(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    };
    const queries = (async () => {
      while (serving) {
        for (const o of before) {
          await ask(`/v1/orders/${o.orderId}`, TOKENS.service, (b) => b.status === 'provisioned');
          await ask(`/v1/payments/${o.paymentId}`, TOKENS.phone, (b) => b.status === 'succeeded');
          await ask(`/v1/smartcards/${o.card}/entitlements`, TOKENS.openPlatform, (b) => Array.isArray(b.entitlements) && b.entitlements.length === 1);
        }
        await ask('/v1/orders?status=provisioned&limit=200', TOKENS.service, (b) => Array.isArray(b.items) && b.items.length >= before.length);
        await ask(`/v1/provisioning?orderId=${before[0]?.orderId ?? ''}`, TOKENS.service, (b) => Array.isArray(b.items) && b.items.length === 1);
      }
    })();
    // Orders keep coming while the rebuild runs.
    const during: Array<{ orderId: string; paymentId: string; card: string }> = [];
    let loading = true;
    const load = (async () => {
      // Bounded: a rebuild that never ends fails the test instead of placing orders forever.
      while (loading && during.length < 200) during.push(await order());
    })();
    stopTraffic = async () => {
      serving = false;
      loading = false;
      await Promise.allSettled([queries, load]);
    };

    const { events, reads } = await ownStores(ledger, 'tvpay_read');
    const result = await rebuild(models, { events, reads, owner: 'rebuild-test', now: () => ledger.clock.now, batch: { maxEvents: 50 } });
    expect(result.versions).toEqual({ orders: 2, entitlements: 2, outbound: 2, finance: 2 });

    // The service's projections follow: an order placed after the switch goes all the way through
    // (the worker runs on the tasks model's new version) and is visible in the new versions.
    const countAtSwitch = during.length;
    await expect.poll(() => during.length, { timeout: 30_000 }).toBeGreaterThan(countAtSwitch + 2);
    loading = false;
    await load;
    // Up to 200 orders' tasks may still be queued behind the switch: the first wait covers draining them.
    for (const o of during) await orderInStatus(ledger, o.orderId, 'provisioned', { timeoutMs: 60_000 });
    serving = false;
    await queries;
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(0);
    for (const name of READ_MODELS) expect(await ledger.service.reads.versions(name)).toEqual({ active: 2, building: null });
    await caughtUp(ledger);
    const cards = await ledger.app.inject({
      method: 'GET',
      url: `/v1/smartcards/${during.at(-1)?.card ?? ''}/entitlements`,
      headers: bearer(TOKENS.openPlatform),
    });
    expect(cards.json<{ entitlements: unknown[] }>().entitlements).toHaveLength(1);

    // Equal to read models built from nothing, from the same log.
    const all = [...before, ...during];
    const ids = { orders: all.map((o) => o.orderId), payments: all.map((o) => o.paymentId) };
    const fresh = await ownStores(ledger, 'tvpay_fresh');
    await rebuild(models, { events: fresh.events, reads: fresh.reads, owner: 'fresh', now: () => ledger.clock.now });
    const rebuilt = await readModelContents(ledger.service.reads, models, ids);
    expect(rebuilt[ENTITLEMENTS]?.length).toBe(all.length);
    expect(rebuilt).toEqual(await readModelContents(fresh.reads, models, ids));
  });
});

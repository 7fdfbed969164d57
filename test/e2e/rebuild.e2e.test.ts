/**
 * End to end, real processes: `npm run rebuild` (every read model) runs while the service takes
 * orders and answers queries. The rebuild builds the new versions beside the live ones and switches;
 * every query answers the whole time, the service carries on with the new versions by itself (orders
 * placed after the switch go all the way through), and the rebuilt read models equal ones built
 * from nothing.
 */
import { describe, expect, it } from 'vitest';
import { compareWithFreshBuild } from '../support/read-models.ts';
import { mapLimit, startScript } from './processes.ts';
import { waitForStatus } from './scenarios.ts';
import { e2eStack, type Confirmed } from '../support/e2e-stack.ts';
import { waitUntil } from '../support/wait.ts';

/** History before the rebuild, and the most orders the load may place meanwhile (bounded). */
const SEEDED = 40;
const MAX_DURING = 150;

const e2e = e2eStack({ PAYMENT_QUERY_AFTER_SECONDS: '600' });
const { api } = e2e;

describe('e2e: npm run rebuild while the service serves', () => {
  it('queries answer throughout, the service follows the switch, and the rebuilt read models equal a fresh build', { timeout: 240_000 }, async () => {
    const seeded = await e2e.provisionedOrders(SEEDED, 'rebuild');

    // Queries, the whole time: what was provisioned before stays visible and whole.
    let serving = true;
    let asked = 0;
    const failures: string[] = [];
    const check = (what: string, ok: boolean, detail: unknown): void => {
      asked++;
      if (!ok) failures.push(`${what}: ${JSON.stringify(detail).slice(0, 300)}`);
    };
    const queries = (async () => {
      for (let i = 0; serving; i = (i + 1) % seeded.length) {
        const o = seeded[i] as Confirmed;
        const order = await api.order(o.orderId);
        check(`order ${o.orderId}`, order.status === 200 && order.body.status === 'provisioned', order.body);
        const cards = await api.entitlements(o.smartcardId);
        check(`entitlements of ${o.smartcardId}`, cards.status === 200 && cards.body.entitlements.length === 1, cards.body);
        const boss = await api.provisioning({ orderId: o.orderId });
        check(`provisioning of ${o.orderId}`, boss.status === 200 && boss.body.items[0]?.status === 'done', boss.body);
        const list = await api.orders({ status: 'provisioned', limit: '200' });
        check('provisioned orders', list.status === 200 && list.body.items.length >= SEEDED, list.status);
      }
    })();
    // Orders, the whole time.
    let loading = true;
    const during: Confirmed[] = [];
    const load = (async () => {
      await mapLimit([0, 1, 2, 3], 4, async () => {
        while (loading && during.length < MAX_DURING) during.push(await e2e.placeAndConfirm('rebuild'));
      });
    })();

    const rebuilding = startScript('rebuild', [], e2e.service.env);
    const exit = await rebuilding.exited;
    expect(exit, rebuilding.output()).toEqual({ code: 0, signal: null });
    // Not a terminal: no progress drawn, only the summary on stdout.
    expect(rebuilding.output()).not.toMatch(/\[rebuild err\] rebuild orders.*%/);
    expect(rebuilding.output()).toMatch(
      /\[rebuild out\] rebuilt orders v2, entitlements v2, outbound v2, finance v2, journal v2, subscribers v2, erasure v2: \d+ events/,
    );

    // The service follows the switch: orders placed after it go all the way through.
    const atSwitch = during.length;
    await waitUntil(() => during.length >= atSwitch + 8 || during.length >= MAX_DURING, 'orders placed after the switch', { timeoutMs: 60_000 });
    loading = false;
    await load;
    for (const o of during) await waitForStatus(api, o.orderId, 'provisioned', 60_000);
    // Every seeded order asked about at least once (a rebuild may end before the first round does).
    await waitUntil(() => asked > 4 * SEEDED, 'a whole round of queries over the seeded orders', { timeoutMs: 60_000 });
    serving = false;
    await queries;
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(4 * SEEDED);
    const last = during.at(-1);
    if (last) expect((await api.entitlements(last.smartcardId)).body.entitlements).toHaveLength(1);

    // Equal to read models built from nothing out of the same log.
    expect(await e2e.service.child.stop(30_000)).toEqual({ code: 0, signal: null });
    const { kept, fresh, orders, versions } = await compareWithFreshBuild(e2e.service.env);
    expect(versions).toEqual({ orders: 2, entitlements: 2, outbound: 2, finance: 2 });
    expect(kept['orders']).toHaveLength(orders);
    expect(orders).toBe(seeded.length + during.length);
    expect(kept).toEqual(fresh);
  });
});

/**
 * End to end, real processes: 200 orders in flight, the service SIGKILLed in the middle of
 * them, and started again on the same DATA_DIR and port. Every order must reach its final
 * state exactly once: paid once, provisioned once, charged once, one entitlement at BOSS and
 * one "paid" SMS to the phone — no work lost, none done twice.
 *
 * The callers behave like real ones across the outage: the open platform re-sends its order
 * with the same Idempotency-Key, the phone re-sends its confirmation.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RETIRED_OWNER } from '../../stores/read-query.ts';
import { countOf, freshOrderBody, codeIn } from './scenarios.ts';
import { mapLimit } from './processes.ts';
import { GiveUp, waitUntil } from '../support/wait.ts';
import type { Reply } from './http.ts';
import type { SmsMessage } from './simulators.ts';
import { e2eStack } from '../support/e2e-stack.ts';
import type { OrderBody } from '../support/fixtures.ts';

const ORDERS = 200;
const CONCURRENCY = 20;
/** Kill once this many orders have been opened at BOSS: paid and provisioning, most still to come. */
const KILL_AFTER_ENTITLEMENTS = 40;

const e2e = e2eStack({ PAYMENT_QUERY_AFTER_SECONDS: '3', RETRY_BASE_MS: '50', RETRY_MAX_ATTEMPTS: '10' });
const { api } = e2e;

const isNetworkError = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'TypeError' || err.name === 'TimeoutError' || err.name === 'AbortError');

/**
 * Sends a request until it gets an HTTP answer (the service may be down or restarting).
 * `ambiguous`: an earlier attempt may have been done without us seeing the answer.
 */
const untilAnswered = async <T>(send: () => Promise<Reply<T>>, what: string): Promise<{ reply: Reply<T>; ambiguous: boolean }> => {
  let ambiguous = false;
  const reply = await waitUntil(
    async () => {
      try {
        const r = await send();
        // Too many writers at once on one stream: the request changed nothing, send it again.
        if (r.status === 409 && JSON.stringify(r.body).includes('concurrent-modification')) return undefined;
        return r;
      } catch (err) {
        if (!isNetworkError(err)) throw new GiveUp(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        ambiguous = true;
        return undefined;
      }
    },
    what,
    { timeoutMs: 90_000, intervalMs: 100 },
  );
  return { reply, ambiguous };
};

const normalize = (msisdn: string): string => msisdn.replace(/^\+86/, '');

describe('e2e: SIGKILL with 200 orders in flight', () => {
  it('after a restart on the same data, every order is paid and provisioned exactly once', { timeout: 170_000 }, async () => {
    const bodies: OrderBody[] = Array.from({ length: ORDERS }, () => freshOrderBody());

    // One poller reads the phones' inboxes for everyone: the code for each msisdn, as it arrives.
    const codes = new Map<string, string>();
    let polling = true;
    const inbox = (async () => {
      while (polling) {
        try {
          for (const m of await e2e.sim.messages()) {
            const code = m.to.msisdn ? codeIn(m.text) : undefined;
            if (code && m.to.msisdn) codes.set(normalize(m.to.msisdn), code);
          }
        } catch {
          // the simulators never go down here; a failed poll is simply polled again
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // The killer: SIGKILL once BOSS has opened some entitlements, then start again on the same port and data.
    type AtKill = { entitlements: number; trades: number; placed: number; confirmed: number };
    let placedCount = 0;
    let confirmedCount = 0;
    const killer = (async (): Promise<AtKill> => {
      await waitUntil(async () => (await e2e.sim.boss()).distinctRequestIds >= KILL_AFTER_ENTITLEMENTS, 'BOSS to open the first entitlements', {
        timeoutMs: 90_000,
        intervalMs: 20,
      });
      await e2e.service.child.kill();
      const at: AtKill = {
        entitlements: (await e2e.sim.boss()).distinctRequestIds,
        trades: (await e2e.sim.trades()).length,
        placed: placedCount,
        confirmed: confirmedCount,
      };
      await e2e.restart();
      return at;
    })();
    // Observed after the callers are done; never an unhandled rejection meanwhile.
    const killed = killer.then(
      (at) => ({ ok: true as const, at }),
      (error: unknown) => ({ ok: false as const, error }),
    );

    let results: Array<{ orderId: string; paymentId: string }>;
    try {
      results = await mapLimit(bodies, CONCURRENCY, async (body) => {
        const key = `crash-${body.subscriberId}`;
        const placed = await untilAnswered(() => api.placeOrder(body, key), `placing ${key}`);
        // A retry after a lost answer replays the order: 200 with Idempotent-Replayed, the same ids.
        expect([201, 200], JSON.stringify(placed.reply.body)).toContain(placed.reply.status);
        if (placed.reply.status === 200) expect(placed.ambiguous).toBe(true);
        placedCount++;
        const { orderId, paymentId } = placed.reply.body;
        const code = await waitUntil(() => codes.get(body.msisdn), `the code SMS for order ${orderId}`, { timeoutMs: 90_000, intervalMs: 50 });
        const confirmed = await untilAnswered(() => api.confirm(paymentId, code), `confirming ${paymentId}`);
        // 409 only where an earlier attempt may have gone through unseen (checked in the history below).
        if (confirmed.reply.status !== 200) {
          expect(confirmed.ambiguous, JSON.stringify(confirmed.reply.body)).toBe(true);
          expect(confirmed.reply.status).toBe(409);
        }
        confirmedCount++;
        return { orderId, paymentId };
      });
    } finally {
      polling = false;
      await inbox;
    }
    const outcome = await killed;
    if (!outcome.ok) throw outcome.error;
    const atKill = outcome.at;

    // The kill happened with work in flight.
    expect(atKill.entitlements, JSON.stringify(atKill)).toBeLessThan(ORDERS);
    expect(atKill.confirmed, JSON.stringify(atKill)).toBeLessThan(ORDERS);

    // Every order provisioned (the read model, after the restart).
    await waitUntil(
      async () => {
        const r = await api.orders({ status: 'provisioned', limit: '200' });
        return r.body.items.length === ORDERS;
      },
      'all orders provisioned',
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    // Each order's own history: placed, confirmed, paid and provisioned exactly once.
    const histories = await mapLimit(results, CONCURRENCY, async ({ orderId }) => (await api.history(orderId)).body.events);
    const wrong: string[] = [];
    histories.forEach((events, i) => {
      for (const t of ['OrderPlaced', 'PaymentConfirmed', 'PaymentSucceeded', 'OrderPaid', 'OrderProvisioned']) {
        const n = countOf(events, t);
        if (n !== 1) wrong.push(`order ${results[i]?.orderId}: ${n} × ${t}`);
      }
    });
    expect(wrong).toEqual([]);

    // BOSS: one distinct entitlement request per paid order, for that order's card.
    const boss = await e2e.sim.boss();
    expect(boss.distinctRequestIds).toBe(ORDERS);
    const perCard = new Map<string, number>();
    for (const e of boss.entitlements) perCard.set(e.smartcardId, (perCard.get(e.smartcardId) ?? 0) + 1);
    expect(bodies.filter((b) => perCard.get(b.smartcardId) !== 1).map((b) => b.smartcardId)).toEqual([]);
    expect(boss.refusals).toBe(0);

    // The platform: one trade per confirmed order, each paid, and no charge we do not know of.
    const paymentIds = new Set(results.map((r) => r.paymentId));
    const trades = await e2e.sim.trades();
    expect(trades).toHaveLength(ORDERS);
    expect(trades.filter((t) => !paymentIds.has(t.outTradeNo)).map((t) => t.outTradeNo)).toEqual([]);
    expect(new Set(trades.map((t) => t.outTradeNo)).size).toBe(ORDERS);
    expect(trades.filter((t) => t.status !== 'SUCCESS')).toEqual([]);
    expect(await e2e.sim.refunds()).toEqual([]);

    // SMS: one distinct "paid" message to each phone and to each TV, one code to each phone.
    const isPaid = (m: SmsMessage) => m.text.includes('已支付');
    const messages = await waitUntil(
      async () => {
        const all = await e2e.sim.messages();
        const phones = all.filter((m) => m.to.msisdn && isPaid(m)).length;
        const tvs = all.filter((m) => m.to.smartcardId && isPaid(m)).length;
        return phones >= ORDERS && tvs >= ORDERS ? all : undefined;
      },
      'a paid SMS to every phone and every TV',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const tally = (pick: (m: SmsMessage) => string | undefined, keep: (m: SmsMessage) => boolean): Map<string, number> => {
      const n = new Map<string, number>();
      for (const m of messages) {
        const k = pick(m);
        if (k !== undefined && keep(m)) n.set(k, (n.get(k) ?? 0) + 1);
      }
      return n;
    };
    const phoneOf = (m: SmsMessage) => (m.to.msisdn ? normalize(m.to.msisdn) : undefined);
    const paidPhone = tally(phoneOf, isPaid);
    const codeSms = tally(phoneOf, (m) => codeIn(m.text) !== undefined);
    const paidTv = tally((m) => m.to.smartcardId, isPaid);
    expect(bodies.filter((b) => paidPhone.get(b.msisdn) !== 1).map((b) => `${b.msisdn}: ${paidPhone.get(b.msisdn) ?? 0}`)).toEqual([]);
    expect(bodies.filter((b) => paidTv.get(b.smartcardId) !== 1).map((b) => `${b.smartcardId}: ${paidTv.get(b.smartcardId) ?? 0}`)).toEqual([]);
    expect(bodies.filter((b) => codeSms.get(b.msisdn) !== 1).map((b) => `${b.msisdn}: ${codeSms.get(b.msisdn) ?? 0}`)).toEqual([]);

    // Nothing left failed at BOSS.
    expect((await api.provisioning({ status: 'failed' })).body.items).toEqual([]);
  });

  it('SIGTERM stops gracefully (exit 0, leases released): a restart is ready at once and finishes the orders in flight', { timeout: 120_000 }, async () => {
    const bodies = Array.from({ length: 5 }, () => freshOrderBody());
    const placed = await mapLimit(bodies, 5, async (body) => {
      const r = await api.placeOrder(body, `term-${body.subscriberId}`);
      expect(r.status).toBe(201);
      return r.body;
    });
    // BOSS answers slowly, so a call is in progress when the service is told to stop.
    const before = (await e2e.sim.boss()).calls;
    await e2e.sim.faults('boss', { latencyMs: 500 });
    try {
      await mapLimit(placed, 5, async (o, i) => {
        const msisdn = bodies[i]?.msisdn ?? '';
        const code = await waitUntil(async () => (await e2e.sim.messages({ msisdn })).map((m) => codeIn(m.text)).find((c) => c !== undefined), 'the code SMS');
        expect((await api.confirm(o.paymentId, code)).status).toBe(200);
      });
      await waitUntil(async () => (await e2e.sim.boss()).calls > before, 'a BOSS call in progress');
      // Graceful is the claim, not fast: the service has its own deadline (25 s, then exit 70 with a log
      // line saying so); SIGKILL only past it.
      const stopped = await e2e.service.child.stop(30_000);
      expect(stopped, `the service's output:\n${e2e.service.child.output()}`).toEqual({ code: 0, signal: null });
    } finally {
      await e2e.sim.faults('boss', { latencyMs: 0 });
    }
    // A graceful stop released every lease it held (projections and the outbound worker), so a restart
    // need not wait out their TTL: no lease in the read store has an owner.
    const reads = new Database(join(e2e.dataDir, 'read.db'), { readonly: true });
    try {
      const leases = reads.prepare('SELECT projection, owner FROM leases').all() as { projection: string; owner: string | null }[];
      expect(leases.length).toBeGreaterThan(0);
      expect(leases.filter((l) => l.owner !== null && l.owner !== RETIRED_OWNER)).toEqual([]);
    } finally {
      reads.close();
    }
    await e2e.restart();
    await waitUntil(
      async () => {
        const statuses = await Promise.all(placed.map(async (o) => (await api.order(o.orderId)).body.status));
        return statuses.every((st) => st === 'provisioned');
      },
      'the orders to be provisioned after the restart',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    for (const o of placed) {
      const events = (await api.history(o.orderId)).body.events;
      expect(countOf(events, 'OrderPaid')).toBe(1);
      expect(countOf(events, 'OrderProvisioned')).toBe(1);
    }
  });
});

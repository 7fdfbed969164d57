/**
 * The outbound worker's own faults, not the partners': the event store failing a read, a read model
 * lagging before a call, a task that starts late, an action that runs out of its claim. Each keeps a
 * lane open and its partner's record true.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../outbound/action.ts';
import { LANES, type Lane, type LaneLimits } from '../../outbound/lanes.ts';
import { taskStream } from '../../outbound/task.ts';
import { startOutboundWorker, type OutboundWorker } from '../../outbound/worker.ts';
import type { EventStore } from '../../stores/event-store.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { waitUntil } from '../support/wait.ts';
import { bossSim, eventually, orderInStatus, placeAndConfirm, platformSim, metricValue } from './support.ts';

let t: TestLedger;
let worker: OutboundWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await t.close();
});

/** The store's reads of the streams `failing` names throw, as a store that lost its connection would. */
const failingReads = (store: EventStore, failing: (streamId: string) => boolean): { thrown(): number } => {
  const read = store.readStream.bind(store);
  let thrown = 0;
  store.readStream = (streamId, slice) => {
    if (!failing(streamId)) return read(streamId, slice);
    thrown += 1;
    return Promise.reject(new Error('simulated: the event store connection was reset'));
  };
  return { thrown: () => thrown };
};

describe('a lane survives its own faults', () => {
  it("the store fails while the half-open lane's probe loads its task: the lane is not shut for good, and BOSS opens the channels once it can", async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '100', OUTBOUND_BREAKER_THRESHOLD: '1', OUTBOUND_BREAKER_COOLDOWN_MS: '10' }, { process: true });
    let failing = false;
    const reads = failingReads(t.service.ledger.store, (id) => failing && id.startsWith('task-boss'));
    bossSim(t).setFaults({ failNext: 1 });
    const o = await placeAndConfirm(t, 'probe-load-fails');
    const stream = taskStream(`boss:${o.orderId}:0`);
    // BOSS failed once: with a threshold of 1 the lane's breaker is open, and its next task is a probe.
    await eventually(
      t,
      async () => ((await t.service.ledger.store.readStream(stream)).some((e) => e.type === 'TaskAttemptFailed') ? true : undefined),
      'BOSS failing once',
    );
    failing = true;
    await eventually(t, async () => (reads.thrown() >= 2 ? true : undefined), 'probes failing to load their task', { tickSeconds: 1 });
    failing = false;
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
  });

  it('a read model lagging before the call is our slowness, not BOSS failing: no claim, no call, the breaker untouched', { timeout: 30_000 }, async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '100', BOSS_TIMEOUT_MS: '100', OUTBOUND_BREAKER_THRESHOLD: '1' }, { process: true });
    await t.service.projections.get('entitlements')?.stop();
    const o = await placeAndConfirm(t, 'entitlements-lag');
    await orderInStatus(t, o.orderId, 'paid');
    const stream = taskStream(`boss:${o.orderId}:0`);
    const failed = await eventually(
      t,
      async () => (await t.service.ledger.store.readStream(stream)).find((e) => e.type === 'TaskAttemptFailed'),
      'a first attempt that could not start its call',
      { timeoutMs: 20_000 },
    );
    expect(String(failed.data.error)).toMatch(/read model entitlements did not catch up/);
    expect((await t.service.ledger.store.readStream(stream)).map((e) => e.type)).not.toContain('TaskAttemptClaimed');
    expect(bossSim(t).inspect().calls).toBe(0);
    expect(await metricValue(t, 'tvpay_outbound_calls_total{system="boss",task="boss",outcome="error"}')).toBe(1);
    expect(await metricValue(t, 'tvpay_outbound_calls_total{system="boss",task="boss",outcome="retryable"}')).toBe(0);
  });

  it('a trade task that first runs after the payment deadline (the store was failing): no trade is created too late, the payment fails and no money moves', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000' }, { process: true });
    let failing = true;
    const reads = failingReads(t.service.ledger.store, (id) => failing && id.startsWith('task-trade'));
    const o = await placeAndConfirm(t, 'trade-late');
    await eventually(t, async () => (reads.thrown() >= 1 ? true : undefined), 'the trade task failing to load');
    t.clock.advance(900); // past the order's payment deadline
    failing = false;
    const failed = await orderInStatus(t, o.orderId, 'payment_failed', { tickSeconds: 2 });
    expect(failed.failureReason).toBe('trade_not_created');
    expect(platformSim(t).trades()).toHaveLength(0);
  });
});

describe('every call ends inside its claim', () => {
  const CALL_MS = 1_000;
  /** A worker of our own on the test ledger's queue, whose SMS action is `sms`; the ledger runs no worker. */
  const ownWorker = (sms: Action): OutboundWorker => {
    const noCall: Action = async () => ({ kind: 'done', detail: 'not this test' });
    return startOutboundWorker({
      ledger: t.service.ledger,
      reads: t.service.reads,
      actions: { sms, expire: noCall, trade: noCall, query: noCall, boss: noCall, refund: noCall, callback: noCall },
      lanes: Object.fromEntries(LANES.map((lane) => [lane, { concurrency: 1, timeoutMs: CALL_MS }])) as Record<Lane, LaneLimits>,
      policy: { retryBaseMs: 1000, retryMaxAttempts: 3, paymentQueryAfterSeconds: 60, paymentQueryDeadlineSeconds: 3600 },
      owner: 'test-worker',
      logger: pino({ level: 'silent' }),
    });
  };

  it('a second call that could outlive the claim is fenced; a claim for two calls leaves room for both', async () => {
    t = await startTestLedger({ CONSUMERS: 'orders,entitlements,outbound,finance,journal,subscribers,process,erasure' }, { process: true });
    const seen: { calls: number; fenced: boolean }[] = [];
    worker = ownWorker(async (attempt) => {
      // Two calls' worth of claim for the first message, one for the others.
      const calls = seen.length === 0 ? 2 : 1;
      await attempt.claim({ calls });
      const claimedAt = performance.now();
      // A first call that takes 2.5 s of a 1 s timeout's claim (held 4 s, 5 s for two calls): no room left for
      // another whole call within a one-call claim (fenced 1 s before it lapses), room within a two-call one.
      await waitUntil(() => (performance.now() - claimedAt > 2_500 ? true : undefined), 'the first call to end', { timeoutMs: 5_000, intervalMs: 50 });
      let fenced = false;
      try {
        attempt.fence();
      } catch {
        fenced = true;
      }
      seen.push({ calls, fenced });
      return { kind: 'done', detail: fenced ? 'fenced' : 'sent' };
    });
    await t.placeOrder({}, 'fence-room');
    await waitUntil(() => (seen.length >= 2 ? true : undefined), 'two SMS attempts', { timeoutMs: 20_000, intervalMs: 20 });
    expect(seen.slice(0, 2)).toEqual([
      { calls: 2, fenced: false },
      { calls: 1, fenced: true },
    ]);
  });
});

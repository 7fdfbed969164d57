/**
 * Retention in the service (PII_RETENTION_DAYS=30): when the service starts (and daily after), every
 * subscriber with no order activity for 30 days is erased, found through the subscribers read model's
 * index; a subscriber active since, and one whose order is still in flight, keep their numbers.
 */
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { compose } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { quietSince } from '../../projections/subscribers.ts';
import { codeFromSms, eventually, orderInStatus } from '../flow/support.ts';
import { startTestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { waitUntil } from '../support/wait.ts';
import { provisioned, settled, type Placed } from './support.ts';

type Line = { msg: string; erased?: number; leftInFlight?: number };

it('erases only the subscribers quiet for longer than PII_RETENTION_DAYS; the recently active and the one in flight keep their numbers', {
  timeout: 120_000,
}, async () => {
  const t = await startTestLedger({ RETRY_BASE_MS: '5', RETRY_MAX_ATTEMPTS: '2', PII_RETENTION_DAYS: '30' }, { process: true });
  try {
    // Day 0: sub-old buys and is provisioned; sub-stuck pays, but BOSS never answers (paid, not provisioned).
    const old = await provisioned(t, 'ret-old', { subscriberId: 'sub-old', smartcardId: '8100000000000501' });
    t.service.integrations.simulated.boss?.setFaults({ failOperations: ['POST /entitlements'] });
    const stuck = (await t.placeOrder({ subscriberId: 'sub-stuck', smartcardId: '8100000000000502', msisdn: '13900139000' }, 'ret-stuck')).json<Placed>();
    expect((await t.confirm(stuck.paymentId, await codeFromSms(t, '+8613900139000'))).statusCode).toBe(200);
    await orderInStatus(t, stuck.orderId, 'paid');
    // BOSS gives up (a failed task waits for customer service to reprovision): the order stays paid, in flight.
    await eventually(
      t,
      async () => {
        const r = await t.app.inject({ method: 'GET', url: `/v1/outbound?kind=boss&status=failed&orderId=${stuck.orderId}`, headers: bearer(TOKENS.service) });
        return r.json<{ items: unknown[] }>().items.length === 1 || undefined;
      },
      'the BOSS task to give up',
      { tickSeconds: 1 },
    );
    t.service.integrations.simulated.boss?.setFaults({ failOperations: [] });
    // Day 31: sub-recent was quiet too, then bought again today.
    await provisioned(t, 'ret-recent-1', { subscriberId: 'sub-recent', smartcardId: '8100000000000503', msisdn: '13700137000' });
    t.clock.advance(31 * 24 * 3600);
    const recent = await provisioned(t, 'ret-recent-2', {
      subscriberId: 'sub-recent',
      smartcardId: '8100000000000503',
      msisdn: '13700137000',
      productId: 'opera-month',
    });
    await settled(t);
    // The read model's index answers who is quiet: the retention task asks it, nothing reads history.
    const cutoff = new Date(t.clock.now.getTime() - 30 * 24 * 3600_000);
    expect((await quietSince(t.service.reads, cutoff, 10)).subscriberIds.sort()).toEqual(['sub-old', 'sub-stuck']);
    expect(await t.service.reads.get('subscribers', 'sub-recent')).toMatchObject({ lastActivityAt: t.clock.now.toISOString(), orders: 2 });
    await t.service.close();

    // The service starts again on day 31: its retention task runs at once.
    const lines: Line[] = [];
    const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    const service = await compose(loadConfig(t.env), logger, () => t.clock.now);
    try {
      await service.app.ready();
      service.start();
      const run = await waitUntil(async () => lines.find((l) => l.msg.startsWith('pii retention:')), 'the retention run to finish', { timeoutMs: 30_000 });
      expect(run).toMatchObject({ msg: 'pii retention: 1 subscriber(s) erased', erased: 1, leftInFlight: 1 });
      const erasures = (await service.ledger.store.readStream('subscriber-sub-old')).map((e) => e.data);
      expect(erasures).toEqual([expect.objectContaining({ subscriberId: 'sub-old', reason: 'retention', by: { role: 'system', client: 'pii-retention' } })]);
      expect(await service.ledger.store.readStream('subscriber-sub-stuck')).toEqual([]);
      expect(await service.ledger.store.readStream('subscriber-sub-recent')).toEqual([]);

      const numbers = async (orderId: string) =>
        (await service.app.inject({ method: 'GET', url: `/v1/orders/${orderId}/history`, headers: bearer(TOKENS.admin) }))
          .json<{ events: { data: Record<string, unknown> }[] }>()
          .events.flatMap((e) => ('msisdn' in e.data ? [e.data.msisdn] : []));
      expect(await numbers(old.orderId)).toEqual(['erased', 'erased']);
      expect(await numbers(stuck.orderId)).toEqual(['8613900139000', '8613900139000']);
      expect(await numbers(recent.orderId)).toEqual(['8613700137000', '8613700137000']);
    } finally {
      await service.close();
    }
  } finally {
    rmSync(t.dataDir, { recursive: true, force: true });
  }
});

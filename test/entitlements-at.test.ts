/**
 * GET /v1/smartcards/{id}/entitlements?at=: what the card was entitled to at an instant, from the
 * log. A past answer does not change when later events arrive (a renewal, another card's refund).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectProblem } from './api/support.ts';
import { caughtUp, orderInStatus, placeAndConfirm } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { bearer, TOKENS } from './support/fixtures.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
});
afterEach(async () => t.close());

type Answer = { smartcardId: string; at?: string; entitlements: { productId: string; validFrom: string; validUntil: string; channels: string[] }[] };
const at = async (card: string, instant: string, token: string = TOKENS.openPlatform): Promise<Answer> => {
  const r = await t.app.inject({ method: 'GET', url: `/v1/smartcards/${card}/entitlements?at=${encodeURIComponent(instant)}`, headers: bearer(token) });
  expect(r.statusCode).toBe(200);
  return r.json<Answer>();
};
const plusDays = (iso: string, d: number) => new Date(Date.parse(iso) + d * 86_400_000).toISOString();

describe('entitlements at an instant', () => {
  it('before, during and after a package, across a renewal that stacks; the past does not move', async () => {
    const start = t.clock.now.toISOString();
    const first = await placeAndConfirm(t, 'pit-1', { smartcardId: 'card-pit' });
    const provisioned = await orderInStatus(t, first.orderId, 'provisioned');
    const firstUntil = plusDays(start, 30);
    expect(provisioned.boss).toMatchObject({ validUntil: firstUntil });
    const hourIn = new Date(Date.parse(start) + 3600_000).toISOString();

    expect((await at('card-pit', '2026-11-24T00:00:00Z')).entitlements).toEqual([]);
    const during = await at('card-pit', hourIn);
    expect(during).toMatchObject({ smartcardId: 'card-pit', at: hourIn });
    expect(during.entitlements).toEqual([
      expect.objectContaining({ productId: 'sports-month', validFrom: start, validUntil: firstUntil, channels: expect.arrayContaining(['CCTV-5 HD']) }),
    ]);

    // Ten days later the subscriber renews: the new month starts where the first ends.
    t.clock.advance(10 * 86_400);
    const renewal = await placeAndConfirm(t, 'pit-2', { smartcardId: 'card-pit' });
    await orderInStatus(t, renewal.orderId, 'provisioned');
    await caughtUp(t);
    const renewedUntil = plusDays(firstUntil, 30);

    expect(await at('card-pit', hourIn)).toEqual(during); // what was known then, not what is known now
    const later = await at('card-pit', plusDays(start, 20));
    expect(later.entitlements).toEqual([expect.objectContaining({ validFrom: start, validUntil: renewedUntil })]);
    expect((await at('card-pit', plusDays(start, 45))).entitlements).toEqual([expect.objectContaining({ validFrom: firstUntil, validUntil: renewedUntil })]);
    expect((await at('card-pit', plusDays(start, 61))).entitlements).toEqual([]);
    // Another card's orders never show.
    expect((await at('card-other', plusDays(start, 20))).entitlements).toEqual([]);
  });

  it('an order refunded after BOSS refused the card never entitles it, at any instant', async () => {
    t.service.integrations.simulated.boss?.setFaults({ refuseSmartcards: ['card-refused'] });
    const o = await placeAndConfirm(t, 'pit-refused', { smartcardId: 'card-refused' });
    await orderInStatus(t, o.orderId, 'refunded');
    await caughtUp(t);
    expect((await at('card-refused', new Date(Date.parse(t.clock.now.toISOString()) + 1000).toISOString())).entitlements).toEqual([]);
  });

  it('refusals: ?at that is not an ISO time (400 naming it), the phone app (403)', async () => {
    const bad = expectProblem(
      await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-1/entitlements?at=yesterday', headers: bearer(TOKENS.openPlatform) }),
      400,
    );
    expect(bad.errors?.map((e) => e.path)).toEqual(['querystring.at']);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-1/entitlements?at=2026-11-25T00:00:00Z', headers: bearer(TOKENS.phone) }), 403);
    const now = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-1/entitlements', headers: bearer(TOKENS.service) });
    expect(now.json()).toEqual({ smartcardId: 'card-1', entitlements: [] }); // without ?at: the live view, as before
  });
});

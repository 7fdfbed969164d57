/**
 * The finance ledger (GET /v1/finance/…, admin): every movement of money as an entry,
 * days in China Standard Time, totals that agree to the fen with the auditor's replay.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountingDay } from '../projections/finance.ts';
import { auditLog } from '../scripts/audit/audit-log.ts';
import { expectProblem } from './api/support.ts';
import { bossSim, caughtUp, eventually, getOrder, orderInStatus, placeAndConfirm, platformSim } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { bearer, TOKENS } from './support/fixtures.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
});
afterEach(async () => t.close());

const get = (url: string, token: string = TOKENS.admin) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('finance ledger', () => {
  it('a charge, a refund and money flagged for review: daily totals, entries, and the audit agree to the fen', async () => {
    const platform = platformSim(t);
    const boss = bossSim(t);
    boss.setFaults({ refuseSmartcards: ['card-fin-refused'] });
    const paid = await placeAndConfirm(t, 'fin-paid');
    const refunded = await placeAndConfirm(t, 'fin-refunded', { smartcardId: 'card-fin-refused', productId: 'kids-quarter' });
    await orderInStatus(t, paid.orderId, 'provisioned');
    await orderInStatus(t, refunded.orderId, 'refunded');
    platform.setFaults({ amountMismatchFen: 1 });
    const flagged = await placeAndConfirm(t, 'fin-flagged', { productId: 'opera-month' });
    // The order waits for an admin's review of the mismatched amount.
    await eventually(
      t,
      async () => ((await getOrder(t, flagged.orderId))?.payment as { status?: string } | undefined)?.status === 'flagged' || undefined,
      'the payment to be flagged',
    );
    expect((await getOrder(t, flagged.orderId))?.status).toBe('payment_pending');
    await caughtUp(t);

    const day = accountingDay(t.clock.now.toISOString());
    const days = await get(`/v1/finance/days?from=${day}&to=${day}`);
    expect(days.statusCode).toBe(200);
    const [only] = days.json<{ days: unknown[] }>().days;
    expect(only).toEqual({
      day,
      charges: { count: 2, amount: { value: 3800 + 4500, currency: 'CNY' } },
      refunds: { count: 1, amount: { value: 4500, currency: 'CNY' } },
      flagged: { count: 1, amount: { value: 1201, currency: 'CNY' } },
      flaggedRefunds: { count: 0, amount: { value: 0, currency: 'CNY' } },
      net: { value: 3800, currency: 'CNY' },
    });
    const audit = await auditLog(t.service.ledger.store);
    expect(audit.money).toEqual({ charged: 3800 + 4500, refunded: 4500, underReview: 1201, net: 3800 });

    const entries = await get(`/v1/finance/entries?day=${day}`);
    const items = entries.json<{ items: { kind: string; orderId: string; amount: { value: number }; subject: string }[] }>().items;
    expect(items.map((e) => [e.kind, e.orderId, e.amount.value])).toEqual(
      expect.arrayContaining([
        ['charge', paid.orderId, 3800],
        ['charge', refunded.orderId, 4500],
        ['refund', refunded.orderId, -4500],
        ['flagged', flagged.orderId, 1201],
      ]),
    );
    expect(items).toHaveLength(4);
    expect(items.find((e) => e.orderId === paid.orderId)?.subject).toBe('体育包 Sports (1 month)');
    const refunds = await get(`/v1/finance/entries?day=${day}&kind=refund`);
    expect(refunds.json().items).toHaveLength(1);
  });

  it('flagged money an admin sends back is flagged money returned, never a refund of a charge: the net stays what the audit says', async () => {
    platformSim(t).setFaults({ amountMismatchFen: 1 });
    const flagged = await placeAndConfirm(t, 'fin-flagged-back', { productId: 'opera-month' });
    await eventually(
      t,
      async () => ((await getOrder(t, flagged.orderId))?.payment as { status?: string } | undefined)?.status === 'flagged' || undefined,
      'the payment to be flagged',
    );
    const resolved = await t.app.inject({
      method: 'POST',
      url: `/v1/payments/${flagged.paymentId}/resolve`,
      headers: bearer(TOKENS.admin),
      payload: { decision: 'refund', reason: 'charged 12.01 instead of 12.00; the customer wants it back' },
    });
    expect(resolved.statusCode).toBe(200);
    await eventually(t, async () => (platformSim(t).refunds().length === 1 ? true : undefined), 'the money back at the platform');
    await orderInStatus(t, flagged.orderId, 'refunded');
    await caughtUp(t);

    const day = accountingDay(t.clock.now.toISOString());
    const [only] = (await get(`/v1/finance/days?from=${day}&to=${day}`)).json<{ days: unknown[] }>().days;
    expect(only).toEqual({
      day,
      charges: { count: 0, amount: { value: 0, currency: 'CNY' } },
      refunds: { count: 0, amount: { value: 0, currency: 'CNY' } },
      flagged: { count: 1, amount: { value: 1201, currency: 'CNY' } },
      flaggedRefunds: { count: 1, amount: { value: 1201, currency: 'CNY' } },
      net: { value: 0, currency: 'CNY' },
    });
    expect((await auditLog(t.service.ledger.store)).money.net).toBe(0);
    const back = (await get(`/v1/finance/entries?day=${day}&kind=flagged_refund`)).json<{ items: { orderId: string; amount: { value: number } }[] }>().items;
    expect(back.map((e) => [e.orderId, e.amount.value])).toEqual([[flagged.orderId, -1201]]);
  });

  it('days without money are listed with zeros; the accounting day is China Standard Time', async () => {
    expect(accountingDay('2026-11-25T15:59:59.999Z')).toBe('2026-11-25');
    expect(accountingDay('2026-11-25T16:00:00.000Z')).toBe('2026-11-26');
    const r = await get('/v1/finance/days?from=2026-01-01&to=2026-01-03');
    const body = r.json<{ days: { day: string; net: { value: number } }[]; total: { net: { value: number } } }>();
    expect(body.days.map((d) => [d.day, d.net.value])).toEqual([
      ['2026-01-01', 0],
      ['2026-01-02', 0],
      ['2026-01-03', 0],
    ]);
    expect(body.total.net.value).toBe(0);
  });

  it('refusals: not for customer service (403), a reversed or too long range (400 naming the field), a bad day (400)', async () => {
    expectProblem(await get('/v1/finance/days?from=2026-01-01&to=2026-01-02', TOKENS.service), 403);
    const reversed = expectProblem(await get('/v1/finance/days?from=2026-02-01&to=2026-01-01'), 400);
    expect(reversed.errors?.map((e) => e.path)).toEqual(['querystring.from']);
    const long = expectProblem(await get('/v1/finance/days?from=2026-01-01&to=2026-12-31'), 400);
    expect(long.errors?.map((e) => e.path)).toEqual(['querystring.to']);
    expectProblem(await get('/v1/finance/entries?day=yesterday'), 400);
  });

  it('a day past the last one the ledger holds (9999-12-30) or before 2000 is 400 naming it, at once: never a loop past the year 9999', async () => {
    for (const [url, path] of [
      ['/v1/finance/days?from=9999-12-31&to=9999-12-31', ['querystring.from', 'querystring.to']],
      ['/v1/finance/days?from=9999-12-01&to=9999-12-31', ['querystring.to']],
      ['/v1/finance/days?from=1999-12-31&to=2000-01-01', ['querystring.from']],
      ['/v1/finance/journal?from=9999-12-31&to=9999-12-31&format=csv', ['querystring.from', 'querystring.to']],
      ['/v1/finance/trial-balance?day=9999-12-31', ['querystring.day']],
      ['/v1/finance/entries?day=9999-12-31', ['querystring.day']],
    ] as const) {
      expect(
        expectProblem(await get(url), 400, 'validation').errors?.map((e) => e.path),
        url,
      ).toEqual(path);
    }
    const last = await get('/v1/finance/days?from=9999-12-29&to=9999-12-30');
    expect(last.statusCode).toBe(200);
    expect(last.json<{ days: { day: string }[] }>().days.map((d) => d.day)).toEqual(['9999-12-29', '9999-12-30']);
  });

  it('an invalid day is named alone, never also as a reversed or too long range', async () => {
    const bad = expectProblem(await get('/v1/finance/days?from=2026-11-25T00:00:00Z&to=2026-11-25'), 400, 'validation');
    expect(bad.errors?.map((e) => e.path)).toEqual(['querystring.from']);
  });
});

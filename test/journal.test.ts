/**
 * The double-entry journal as finance reads it (admin): GET /v1/finance/journal (filters, CSV) and
 * GET /v1/finance/trial-balance?day=, over a log the service wrote with every path; the projection
 * holds exactly the entries the audit rebuilds from the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent } from '../domain/payment/payment.ts';
import { foldJournal } from '../domain/accounts.ts';
import { auditLog } from '../scripts/audit/audit-log.ts';
import { expectProblem } from './api/support.ts';
import { writeServiceLog, type ServiceLog } from './audit/service-log.ts';
import { caughtUp } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { bearer, TOKENS } from './support/fixtures.ts';

let t: TestLedger;
let log: ServiceLog;
beforeAll(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
  log = await writeServiceLog(t);
  await caughtUp(t);
}, 120_000);
afterAll(async () => t.close());

const get = (url: string, token: string = TOKENS.admin) => t.app.inject({ method: 'GET', url, headers: bearer(token) });
type Side = { debit: number; credit: number };
type Trial = {
  day: string;
  accounts: { account: string; code: string; balance: Side; movements: Side }[];
  totals: { balance: Side; movements: Side };
  balanced: boolean;
};
const trial = async (day: string): Promise<Trial> => {
  const r = await get(`/v1/finance/trial-balance?day=${day}`);
  expect(r.statusCode).toBe(200);
  return r.json<Trial>();
};
/** Kept: two orders at 3800 and one an admin accepted at 3700; the refunded 4500, the flagged 1201 and the late 3800 came and went. */
const KEPT = 3800 + 3800 + 3700;
const balance = (tb: Trial, account: string) => tb.accounts.find((a) => a.account === account)?.balance;

describe('trial balance', () => {
  it('the first day: debits = credits; charges, refunds owed and paid, flagged money in and out; revenue + deferred = cash kept', async () => {
    const tb = await trial('2026-11-25');
    expect(tb.balanced).toBe(true);
    expect(tb.totals.balance.debit).toBe(tb.totals.balance.credit);
    expect(tb.totals.movements.debit).toBe(tb.totals.movements.credit);
    expect(balance(tb, 'cash_at_platform')).toEqual({ debit: KEPT, credit: 0 });
    expect(balance(tb, 'refunds_payable')).toEqual({ debit: 0, credit: 0 });
    expect(balance(tb, 'platform_receivable')).toEqual({ debit: 0, credit: 0 });
    expect(balance(tb, 'suspense_flagged')).toEqual({ debit: 0, credit: 0 });
    expect(tb.accounts.find((a) => a.account === 'platform_receivable')?.movements).toEqual({ debit: 1201 + 3700 + 3800, credit: 1201 + 3700 + 3800 });
    const revenue = balance(tb, 'revenue')?.credit ?? 0;
    const deferred = balance(tb, 'deferred_revenue')?.credit ?? 0;
    expect(revenue).toBeGreaterThan(0); // the evening of the first day is earned already
    expect(revenue + deferred).toBe(KEPT);
    expect(tb.accounts.map((a) => a.code)).toEqual(['1010', '1020', '2010', '2020', '2090', '4010']);
  });

  it('every day balances; once the months have run, all of it is revenue; before anything, all zero', async () => {
    for (const day of ['2026-11-26', '2026-12-10', '2026-12-24', '2026-12-25', '2026-12-26']) expect((await trial(day)).balanced, day).toBe(true);
    const after = await trial('2027-01-31');
    expect(balance(after, 'revenue')).toEqual({ debit: 0, credit: KEPT });
    expect(balance(after, 'deferred_revenue')).toEqual({ debit: 0, credit: 0 });
    const before = await trial('2026-11-24');
    expect(before.totals.balance).toEqual({ debit: 0, credit: 0 });
    expect(before.balanced).toBe(true);
  });
});

describe('journal', () => {
  it('entries by day and kind; each balances; the projection holds exactly what the audit rebuilds from the log', async () => {
    const charges = await get('/v1/finance/journal?from=2026-11-25&to=2026-11-25&kind=charge');
    const items = charges.json<{ items: { orderId: string; lines: { account: string; debit: number; credit: number }[] }[] }>().items;
    expect(items.map((e) => e.orderId).sort()).toEqual([log.provisioned.orderId, log.refunded.orderId, log.queried.orderId].sort());
    for (const e of items) expect(e.lines.reduce((s, l) => s + l.debit - l.credit, 0)).toBe(0);
    const byOrder = await get(`/v1/finance/journal?from=2026-11-25&to=2026-11-25&orderId=${log.refunded.orderId}`);
    expect(byOrder.json<{ items: { kind: string }[] }>().items.map((e) => e.kind)).toEqual(['charge', 'refund_due', 'refund_paid']);

    const stored = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await get(`/v1/finance/journal?from=2026-11-25&to=2027-02-20&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      ).json();
      for (const e of page.items) stored.add(e.id);
      cursor = page.nextCursor;
    } while (cursor);
    const rebuilt = foldJournal(
      (await t.allEvents()).flatMap((e) => {
        const event = readOrderEvent(e) ?? readPaymentEvent(e);
        return event ? [{ eventId: e.id, event }] : [];
      }),
    );
    expect(stored).toEqual(new Set(rebuilt.entries.keys()));
    const audit = await auditLog(t.service.ledger.store, { now: new Date('2027-01-31T00:00:00Z') });
    expect(audit.findings).toEqual([]);
    expect(audit.journal).toMatchObject({ entries: stored.size, unbalancedDays: [], recognised: KEPT, deferred: 0, cashKept: KEPT });
  });

  it('CSV: one line per debit or credit, filtered by account', async () => {
    const r = await get('/v1/finance/journal?from=2026-11-25&to=2026-11-25&format=csv&account=platform_receivable');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...rows] = r.body.trim().split('\n');
    expect(header).toBe('entry_id,day,at,kind,order_id,payment_id,event_id,account_code,account,debit_fen,credit_fen');
    expect(rows).toContainEqual(
      expect.stringMatching(
        new RegExp(`^flagged:[^,]+,2026-11-25,[^,]+,flagged,${log.flagged.orderId},${log.flagged.paymentId},[^,]+,1020,platform_receivable,1201,0$`),
      ),
    );
    expect(rows.every((r) => r.split(',')[8] === 'platform_receivable')).toBe(true);
    expect(rows).toHaveLength(6); // in and out, for the flagged, the accepted and the late money
    const all = await get('/v1/finance/journal?from=2026-11-25&to=2026-11-25&format=csv');
    const lines = all.body
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const sum = (col: number) => lines.reduce((s, l) => s + Number(l[col]), 0);
    expect(sum(9)).toBe(sum(10)); // the day's debits equal its credits
  });

  it('refusals: not for customer service (403); a bad day, a reversed or too long range, an unknown account (400 naming the field)', async () => {
    expectProblem(await get('/v1/finance/trial-balance?day=2026-11-25', TOKENS.service), 403);
    expectProblem(await get('/v1/finance/journal?from=2026-11-25&to=2026-11-25', TOKENS.service), 403);
    const badDay = expectProblem(await get('/v1/finance/trial-balance?day=25-11-2026'), 400);
    expect(badDay.errors?.map((e) => e.path)).toEqual(['querystring.day']);
    expect(expectProblem(await get('/v1/finance/journal?from=2026-11-26&to=2026-11-25'), 400).errors?.map((e) => e.path)).toEqual(['querystring.from']);
    expect(expectProblem(await get('/v1/finance/journal?from=2026-01-01&to=2026-12-31'), 400).errors?.map((e) => e.path)).toEqual(['querystring.to']);
    expect(expectProblem(await get('/v1/finance/journal?from=2026-11-25&to=2026-11-25&account=petty_cash'), 400).errors?.map((e) => e.path)).toEqual([
      'querystring.account',
    ]);
  });
});

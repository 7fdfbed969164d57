/**
 * Reconciliation against the platform's daily statement (npm run reconcile): every class an operator
 * acts on, each from a statement that contains it; a log the service wrote matches the statement of
 * the platform it talked to; the CLI fetches one file per day (never a trade at a time), answers in
 * text, JSON or CSV, and exits 0 only when everything matched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStatement, renderStatement, MalformedStatement, parseYuan, formatYuan, type StatementLine } from '../integrations/statement.ts';
import { listen, platformHandler } from '../integrations/simulators/http-server.ts';
import { reconcileScript } from '../scripts/reconcile.ts';
import { compareDay, type DayReport } from '../scripts/reconcile/compare.ts';
import { replayPayments, type OurPayment } from '../scripts/reconcile/ours.ts';
import { caughtUp, eventually, orderInStatus, placeAndConfirm, platformSim } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { PLATFORM_SECRET } from './support/fixtures.ts';
import { runChild, runInProcess } from './support/run-script.ts';

const DAY = '2026-11-25';
const NOW = new Date('2026-11-26T02:00:00.000Z'); // the next morning, 10:00 in Beijing
const GRACE = 30 * 60_000;

const cny = (value: number) => ({ value, currency: 'CNY' as const });
const trade = (over: Partial<StatementLine> = {}): StatementLine => ({
  tradeNo: 'T1',
  outTradeNo: 'p1',
  refundNo: '',
  type: 'TRADE',
  amount: cny(3800),
  fee: cny(23),
  status: 'SUCCESS',
  time: '2026-11-25T08:00:01.000Z',
  ...over,
});
const refundLine = (over: Partial<StatementLine> = {}): StatementLine =>
  trade({ type: 'REFUND', refundNo: 'R1', fee: cny(0), time: '2026-11-25T08:10:00.000Z', ...over });
const paid = (over: Partial<OurPayment> = {}): OurPayment => ({
  paymentId: 'p1',
  orderId: 'o1',
  status: 'succeeded',
  fen: 3800,
  tradeNo: 'T1',
  charge: { fen: 3800, tradeNo: 'T1', at: '2026-11-25T08:00:02.000Z', platformAt: '2026-11-25T08:00:01.000Z' },
  refunds: [],
  ...over,
});

/** Runs a statement (written out and read back, as the CLI does) against our payments. */
const classify = (lines: StatementLine[], ours: OurPayment[], now = NOW): DayReport =>
  compareDay({ day: DAY, statement: parseStatement(renderStatement(DAY, lines)), payments: new Map(ours.map((p) => [p.paymentId, p])), now, graceMs: GRACE });
const classes = (r: DayReport) => r.items.map((i) => [i.kind, i.class]);

describe('each class, from a statement that contains it', () => {
  it('matched: the same trade and amount on both sides, a refund with the same number and amount', () => {
    const r = classify([trade(), refundLine()], [paid({ status: 'refunded', refunds: [{ refundNo: 'R1', fen: 3800, at: '2026-11-25T08:10:00.000Z' }] })]);
    expect(classes(r)).toEqual([
      ['trade', 'matched'],
      ['refund', 'matched'],
    ]);
    expect(r.totals).toEqual({ trades: 3800, refunds: 3800, fees: 23 });
  });

  it('stranded: money the platform took that, a day on, is still flagged or being refunded here (neither goods nor refund)', () => {
    const flagged = paid({ status: 'flagged', charge: undefined, flagged: { fen: 3800, tradeNo: 'T1', at: '2026-11-25T08:00:02.000Z' } });
    const refunding = paid({ status: 'refunding' });
    expect(classes(classify([trade()], [flagged]))).toEqual([['trade', 'matched']]);
    expect(classes(classify([trade()], [refunding]))).toEqual([['trade', 'matched']]);
    const dayAfter = new Date('2026-11-26T08:00:03.000Z');
    const stranded = classify([trade()], [flagged], dayAfter);
    expect(classes(stranded)).toEqual([['trade', 'stranded']]);
    expect(stranded.items[0]?.detail).toMatch(/still flagged/);
    expect(classes(classify([trade()], [refunding], dayAfter))).toEqual([['trade', 'stranded']]);
    // Refunded in the end: matched (its refund line is the refund's own item).
    expect(classes(classify([trade()], [paid({ status: 'refunded' })], dayAfter))).toEqual([['trade', 'matched']]);
  });

  it('late: a result still in flight, within the grace window of the run', () => {
    const young = trade({ time: '2026-11-25T15:50:00.000Z' });
    const justNow = new Date('2026-11-25T16:05:00.000Z');
    expect(classes(classify([young], [paid({ status: 'submitted', charge: undefined })], justNow))).toEqual([['trade', 'late']]);
    expect(classes(classify([young], [], justNow))).toEqual([['trade', 'late']]);
  });

  it("late: our record on the next day of the platform's statement, within the window", () => {
    // Settled at 23:59:50 in Beijing, recorded here 12 s later: on the statement of the 25th, our 26th.
    const crossing = paid({ charge: { fen: 3800, tradeNo: 'T1', at: '2026-11-25T16:00:02.000Z', platformAt: '2026-11-25T15:59:50.000Z' } });
    const r = compareDay({
      day: '2026-11-26',
      statement: parseStatement(renderStatement('2026-11-26', [])),
      payments: new Map([['p1', crossing]]),
      now: NOW,
      graceMs: GRACE,
    });
    expect(classes(r)).toEqual([['trade', 'late']]);
    expect(r.items[0]?.detail).toContain("on the platform's statement of 2026-11-25");
    expect(classes(classify([trade({ time: '2026-11-25T15:59:50.000Z' })], [crossing]))).toEqual([['trade', 'matched']]);
  });

  it('missing on our side: the platform took money for a payment we do not have, or still think is in flight', () => {
    expect(classes(classify([trade()], []))).toEqual([['trade', 'missing_on_our_side']]);
    expect(classes(classify([trade()], [paid({ status: 'submitted', charge: undefined })]))).toEqual([['trade', 'missing_on_our_side']]);
  });

  it('missing at the platform: money we recorded that the statement does not list', () => {
    const r = classify([], [paid()]);
    expect(classes(r)).toEqual([['trade', 'missing_at_platform']]);
    expect(r.items[0]).toMatchObject({ paymentId: 'p1', orderId: 'o1', theirs: null, ours: { fen: 3800 } });
    const flagged = paid({ status: 'flagged', charge: undefined, flagged: { fen: 3801, tradeNo: 'T1', at: '2026-11-25T08:00:02.000Z' } });
    expect(classes(classify([], [flagged]))).toEqual([['trade', 'missing_at_platform']]);
  });

  it('amount differs: both took the money, not the same amount (a flagged payment compares what was reported)', () => {
    expect(classes(classify([trade({ amount: cny(3801) })], [paid()]))).toEqual([['trade', 'amount_differs']]);
    const flagged = paid({ status: 'flagged', charge: undefined, flagged: { fen: 3801, tradeNo: 'T1', at: '2026-11-25T08:00:02.000Z' } });
    expect(classes(classify([trade({ amount: cny(3801) })], [flagged]))).toEqual([['trade', 'matched']]);
    expect(classes(classify([trade()], [flagged]))).toEqual([['trade', 'amount_differs']]);
  });

  it('status differs: SUCCESS there and failed here, FAILED there and paid here, another trade', () => {
    expect(classes(classify([trade()], [paid({ status: 'failed', charge: undefined })]))).toEqual([['trade', 'status_differs']]);
    expect(classes(classify([trade({ status: 'FAILED', fee: cny(0) })], [paid()]))).toEqual([['trade', 'status_differs']]);
    expect(classes(classify([trade({ tradeNo: 'T2' })], [paid()]))).toEqual([['trade', 'status_differs']]);
    expect(classes(classify([trade({ status: 'CLOSED', fee: cny(0) })], [paid({ status: 'failed', charge: undefined })]))).toEqual([['trade', 'matched']]);
  });

  it('refund mismatch: refunded there only, here only, or for another amount', () => {
    const refunded = paid({ status: 'refunded', refunds: [{ refundNo: 'R1', fen: 3800, at: '2026-11-25T08:10:00.000Z' }] });
    expect(classes(classify([trade(), refundLine()], [paid()]))).toEqual([
      ['trade', 'matched'],
      ['refund', 'refund_mismatch'],
    ]);
    expect(classes(classify([trade()], [refunded]))).toEqual([
      ['trade', 'matched'],
      ['refund', 'refund_mismatch'],
    ]);
    expect(classes(classify([trade(), refundLine({ amount: cny(1900) })], [refunded]))).toEqual([
      ['trade', 'matched'],
      ['refund', 'refund_mismatch'],
    ]);
  });
});

describe('edges of a day and of a statement', () => {
  const NEXT = '2026-11-26';
  const classifyNext = (lines: StatementLine[], ours: OurPayment[]): DayReport =>
    compareDay({
      day: NEXT,
      statement: parseStatement(renderStatement(NEXT, lines)),
      payments: new Map(ours.map((p) => [p.paymentId, p])),
      now: new Date('2026-11-27T02:00:00.000Z'),
      graceMs: GRACE,
    });

  it('flagged money an admin accepts on a later day moved once, on its flagged day: nothing is missing on the day of the acceptance', () => {
    const accepted = paid({
      flagged: { fen: 3801, tradeNo: 'T1', at: '2026-11-25T08:00:02.000Z' },
      charge: { fen: 3801, tradeNo: 'T1', at: '2026-11-26T02:00:00.000Z', platformAt: '2026-11-26T02:00:00.000Z' },
    });
    expect(classes(classify([trade({ amount: cny(3801) })], [accepted]))).toEqual([['trade', 'matched']]);
    const r = classifyNext([], [accepted]);
    expect(r.items).toEqual([]);
  });

  it('flagged money or a refund recorded just after midnight, without the platform’s time: late (on the statement before) within the window, missing after it', () => {
    const flaggedAt = (at: string) => paid({ status: 'flagged', charge: undefined, flagged: { fen: 3800, tradeNo: 'T1', at } });
    const refundedAt = (at: string) => paid({ status: 'refunded', refunds: [{ refundNo: 'R1', fen: 3800, at }] });
    // 00:02 and 00:00:00.2 in Beijing on the 26th.
    expect(classes(classifyNext([], [flaggedAt('2026-11-25T16:02:00.000Z')]))).toEqual([['trade', 'late']]);
    const refund = classifyNext([], [refundedAt('2026-11-25T16:00:00.200Z')]);
    expect(classes(refund)).toEqual([['refund', 'late']]);
    expect(refund.items[0]?.detail).toContain('statement of 2026-11-25');
    // An hour into the day is past the 30-minute window.
    expect(classes(classifyNext([], [flaggedAt('2026-11-25T17:00:00.000Z')]))).toEqual([['trade', 'missing_at_platform']]);
    expect(classes(classifyNext([], [refundedAt('2026-11-25T17:00:00.000Z')]))).toEqual([['refund', 'refund_mismatch']]);
  });

  it('a trade or a refund listed twice on the statement is not agreement: the second line is named', () => {
    const refunded = paid({ status: 'refunded', refunds: [{ refundNo: 'R1', fen: 3800, at: '2026-11-25T08:10:00.000Z' }] });
    const r = classify([trade(), trade(), refundLine(), refundLine()], [refunded]);
    expect(classes(r)).toEqual([
      ['trade', 'matched'],
      ['trade', 'status_differs'],
      ['refund', 'matched'],
      ['refund', 'refund_mismatch'],
    ]);
    expect(r.items[1]?.detail).toBe(`listed twice on the platform's statement (line ${r.items[1]?.theirs?.line})`);
    expect(r.items[1]?.theirs?.line).toBe((r.items[0]?.theirs?.line ?? 0) + 1);
    expect(r.totals).toEqual({ trades: 7600, refunds: 7600, fees: 46 });
  });
});

describe('the statement file', () => {
  it('amounts are yuan with two decimals, read and written without floats', () => {
    expect(formatYuan(3800)).toBe('38.00');
    expect(formatYuan(5)).toBe('0.05');
    expect(parseYuan('0.07')).toBe(7);
    expect(parseYuan('123456.78')).toBe(12_345_678);
    expect(parseYuan('38.0')).toBeUndefined();
    expect(parseYuan('3.8e1')).toBeUndefined();
  });

  it('refuses what it does not understand, naming the line', () => {
    const good = renderStatement(DAY, [trade()]);
    expect(parseStatement(good)).toMatchObject({ day: DAY, lines: [{ outTradeNo: 'p1', amount: cny(3800), fee: cny(23), time: '2026-11-25T08:00:01.000Z' }] });
    expect(good).toContain('T1,p1,,TRADE,38.00,0.23,SUCCESS,2026-11-25T16:00:01+08:00');
    const broken = good.replace('38.00', '38');
    expect(() => parseStatement(broken)).toThrow(MalformedStatement);
    expect(() => parseStatement(broken)).toThrow(/^line 4: amount "38" is not yuan/);
    expect(() => parseStatement('hello\n')).toThrow(/line 1: expected the header/);
    expect(() => parseStatement(good.replace('SUCCESS', 'PAID'))).toThrow(/line 4: status/);
  });
});

const runCli = (args: string[], env: Record<string, string>) => runInProcess(reconcileScript, args, env);

describe('against the platform the service talked to', () => {
  let t: TestLedger;
  beforeEach(async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
  });
  afterEach(async () => t.close());

  const platform = () => platformSim(t);

  /** Paid, refunded after BOSS refused the card, failed at the platform, flagged (amount mismatch), declined. */
  const driveOrders = async () => {
    platform().setFaults({ failMsisdnSuffixes: ['0004'] });
    t.service.integrations.simulated.boss?.setFaults({ refuseSmartcards: ['card-refuse'] });
    const a = await placeAndConfirm(t, 'rec-a');
    const refunded = await placeAndConfirm(t, 'rec-refunded', { smartcardId: 'card-refuse', productId: 'kids-quarter' });
    const failed = await placeAndConfirm(t, 'rec-failed', { msisdn: '13800130004' });
    await orderInStatus(t, a.orderId, 'provisioned');
    await orderInStatus(t, refunded.orderId, 'refunded');
    await orderInStatus(t, failed.orderId, 'payment_failed');
    platform().setFaults({ amountMismatchFen: 1 });
    const flagged = await placeAndConfirm(t, 'rec-flagged', { productId: 'opera-month' });
    // Flagged for an admin's review: the money was taken, the order waits.
    await eventually(
      t,
      async () => ((await t.service.ledger.store.readStream(`payment-${flagged.paymentId}`)).some((e) => e.type === 'PaymentFlagged') ? true : undefined),
      'the flag',
    );
    const declined = (await t.placeOrder({ productId: 'opera-month' }, 'rec-declined')).json<{ orderId: string; paymentId: string }>();
    await t.app.inject({ method: 'POST', url: `/v1/payments/${declined.paymentId}/decline`, headers: { authorization: 'Bearer test-phone-app-token' } });
    await orderInStatus(t, declined.orderId, 'cancelled');
    await caughtUp(t);
    return { a, refunded, failed, flagged, declined };
  };

  it('every line and every payment of the day matched; nothing before the day has ended', async () => {
    const { a, refunded, failed, flagged } = await driveOrders();
    expect(platform().statement(DAY)).toBeUndefined(); // 08:00 UTC: the day is not over in Beijing
    t.clock.advance(12 * 3600);
    const csv = platform().statement(DAY);
    if (!csv) throw new Error('expected a statement');
    const { payments } = await replayPayments(t.service.ledger.store);
    const r = compareDay({ day: DAY, statement: parseStatement(csv), payments, now: NOW, graceMs: GRACE });
    expect(r.items.filter((i) => i.class !== 'matched')).toEqual([]);
    expect(r.counts.matched).toBe(5); // four trades (paid, refunded, failed, flagged) and one refund
    expect(r.payments).toBe(4); // the declined payment never reached the platform
    expect(new Set(r.items.map((i) => i.paymentId))).toEqual(new Set([a.paymentId, refunded.paymentId, failed.paymentId, flagged.paymentId]));
    expect(r.totals).toEqual({ trades: 3800 + 4500 + 1201, refunds: 4500, fees: 23 + 27 + 7 });
  });

  it('the CLI: one statement per day over HTTP, text, JSON and CSV, exit 0 only when all match', async () => {
    const { a, refunded } = await driveOrders();
    t.clock.advance(12 * 3600);
    let statementCalls = 0;
    let tradeQueries = 0;
    const handler = platformHandler(platform(), [PLATFORM_SECRET]);
    const server = await listen(async (req) => {
      if (req.path.startsWith('/statements/')) statementCalls++;
      if (req.path.startsWith('/trades/')) tradeQueries++;
      return handler(req);
    });
    const env = { DATA_DIR: t.dataDir, PAYMENT_PLATFORM_URL: server.url, PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET };
    const dir = mkdtempSync(join(tmpdir(), 'tvpay-statement-'));
    try {
      // The flagged payment of this log was never reviewed: by the wall clock it is long stranded.
      const stale = await runCli(['--day', DAY, '--json'], env);
      expect(stale.code).toBe(1);
      expect((JSON.parse(stale.stdout) as DayReport).counts.stranded).toBe(1);
      // Within a grace long enough to cover it (the log's clock is a test clock), everything matches.
      const ok = await runCli(['--day', DAY, '--stranded-hours', '1000000'], env);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`statement of ${DAY} (UTC+8): 5 line(s); our payments that day: 4`);
      expect(ok.stdout).toContain('every line and every payment matched');
      expect(statementCalls).toBe(2); // one per run, the day at once
      expect(tradeQueries).toBe(0);

      // The same day, as a file in which the platform tells another story.
      const doctored = (platform().statement(DAY) ?? '')
        .split('\n')
        .filter((l) => !(l.includes(refunded.paymentId) && l.includes('REFUND')))
        .map((l) => (l.includes(a.paymentId) ? l.replace(',38.00,', ',38.01,') : l))
        .join('\n');
      const file = join(dir, 'statement.csv');
      writeFileSync(file, `${doctored}T-unknown,p-unknown,,TRADE,10.00,0.06,SUCCESS,2026-11-25T18:00:00+08:00\n`);
      const json = await runCli(['--file', file, '--json', '--stranded-hours', '1000000'], env);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as DayReport;
      expect(report.counts).toMatchObject({ matched: 3, amount_differs: 1, refund_mismatch: 1, missing_on_our_side: 1 });
      expect(report.items.find((i) => i.class === 'amount_differs')).toMatchObject({ paymentId: a.paymentId, ours: { fen: 3800 }, theirs: { fen: 3801 } });
      expect(report.items.find((i) => i.class === 'refund_mismatch')).toMatchObject({ paymentId: refunded.paymentId, theirs: null });

      const text = await runCli(['--file', file, '--stranded-hours', '1000000'], env);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('3 NOT MATCHED:');
      expect(text.stdout).toContain(`amount_differs: trade of payment ${a.paymentId}`);
      expect(text.stdout).not.toMatch(/1380013\d{4}/);

      const csv = await runCli(['--file', file, '--csv', '--stranded-hours', '1000000'], env);
      expect(csv.code).toBe(1);
      const [header, ...rows] = csv.stdout.trim().split('\n');
      expect(header).toBe(
        'class,kind,payment_id,order_id,trade_no,refund_no,our_status,our_fen,our_at,platform_status,platform_fen,platform_fee_fen,platform_time,line,detail',
      );
      expect(rows).toHaveLength(6);
      expect(rows.filter((r) => r.startsWith('missing_on_our_side,trade,p-unknown,'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });
});

describe('the CLI refuses to run, and says why, with its exit code', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tvpay-reconcile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--help: 0, the usage, nothing opened (as the shell sees it)', async () => {
    const r = await runChild('scripts/reconcile.ts', ['--help'], { DATA_DIR: join(dir, 'nowhere') });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('npm run reconcile -- --day <yyyy-mm-dd> | --file <statement.csv>');
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 findings, 64 usage, 69 unavailable');
  });

  it('usage 64: no day and no file, a bad day (or one the calendar does not have), an unknown option', async () => {
    for (const args of [
      [],
      ['--day', '25/11/2026'],
      ['--day', '2026-13-45'],
      ['--day', '2026-02-30', '--file', 'statement.csv'],
      ['--day', DAY, '--verbose'],
    ]) {
      const r = await runCli(args, { DATA_DIR: dir });
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stdout).toBe('');
    }
    const shell = await runChild('scripts/reconcile.ts', ['--day', 'yesterday'], { DATA_DIR: dir });
    expect(shell.code).toBe(64);
    expect(shell.stderr).toBe('reconcile: --day: expected a day, yyyy-mm-dd\n');
  });

  it('configuration 78: --day without PAYMENT_PLATFORM_URL', async () => {
    const r = await runCli(['--day', DAY], { DATA_DIR: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('PAYMENT_PLATFORM_URL is not set');
  });

  it('unavailable 69: an unreadable statement, no event store, a platform that is not there', async () => {
    const file = join(dir, 'statement.csv');
    writeFileSync(file, 'not,a,statement\n');
    const bad = await runCli(['--file', file], { DATA_DIR: dir });
    expect(bad.code).toBe(69);
    expect(bad.stderr).toContain('is not a statement we can read: line 1');
    writeFileSync(file, renderStatement(DAY, []));
    const noStore = await runCli(['--file', file], { DATA_DIR: dir });
    expect(noStore.code).toBe(69);
    expect(noStore.stderr).toContain('no event store at');
    const down = await runCli(['--day', DAY], { DATA_DIR: dir, PAYMENT_PLATFORM_URL: 'http://127.0.0.1:9', PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET });
    expect(down.code).toBe(69);
    expect(down.stderr).toContain('did not answer GET /statements/2026-11-25');
  });
});

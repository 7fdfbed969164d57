/**
 * The nightly reconciliation (npm run reconcile): a log the service wrote matches the platform it
 * talked to; a platform that tells a different story is caught, payment by payment, with the class
 * an operator acts on; a platform that does not answer is retried, then reported as unchecked.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cny } from '../domain/money.ts';
import type { Payment } from '../domain/payment/payment.ts';
import type { PaymentPlatform, Trade } from '../integrations/ports.ts';
import { listen, platformHandler } from '../integrations/simulators/http-server.ts';
import { classify, reconcile, type ReconcileOptions } from '../scripts/reconcile/compare.ts';
import { formatReport } from '../scripts/reconcile/format.ts';
import { caughtUp, eventually, orderInStatus, placeAndConfirm } from './flow/support.ts';
import { PLATFORM_SECRET, startTestLedger, type TestLedger } from './support/ledger-app.ts';

const noWait: ReconcileOptions = { retry: { sleep: async () => {} } };

/** The platform, with the answers to some trades rewritten: how a platform that disagrees with us looks. */
const disagreeing = (base: PaymentPlatform, rewrite: Record<string, (t: Trade | null) => Trade | null>): PaymentPlatform => ({
  createTrade: (req) => base.createTrade(req),
  refund: (req) => base.refund(req),
  queryTrade: async (outTradeNo) => {
    const trade = await base.queryTrade(outTradeNo);
    const f = rewrite[outTradeNo];
    return f ? f(trade) : trade;
  },
});
const withStatus = (status: Trade['status']) => (t: Trade | null): Trade | null => (t ? { ...t, status } : t);
const plusFen = (fen: number) => (t: Trade | null): Trade | null => (t ? { ...t, amount: { ...t.amount, value: t.amount.value + fen } } : t);

const runCliChild = (env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const { PAYMENT_PLATFORM_URL: _url, EVENTSTORE_URL: _es, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/reconcile.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...inherited, ...env },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('classify (ours ↔ theirs)', () => {
  const facts = { paymentId: 'p1', orderId: 'o1', amount: cny(3800), msisdn: '13800138000', subject: 's', requestedAt: 't', payBy: 't' };
  const trade = (status: Trade['status'], fen = 3800): Trade => ({ tradeNo: 'T1', status, amount: cny(fen) });
  const succeeded: Payment = { ...facts, status: 'succeeded', tradeNo: 'T1', paidAt: 't', notificationId: 'n', charged: cny(3800) };
  const refunded: Payment = { ...facts, status: 'refunded', tradeNo: 'T1', refundNo: 'R1' };
  const submitted: Payment = { ...facts, status: 'submitted', tradeNo: 'T1', confirmedAt: 't' };
  const confirmed: Payment = { ...facts, status: 'confirmed', confirmedAt: 't' };
  const failed: Payment = { ...facts, status: 'failed', reason: 'platform_failed', detail: 'd' };
  const flagged: Payment = { ...facts, status: 'flagged', reason: 'amount_mismatch', notificationId: 'n', tradeNo: 'T1', reported: cny(3700) };

  const table: [Payment & { status: Exclude<Payment['status'], 'none'> }, Trade | null, string][] = [
    [succeeded, trade('SUCCESS'), 'matched'],
    [refunded, trade('SUCCESS'), 'matched'],
    [failed, trade('FAILED'), 'matched'],
    [failed, trade('CLOSED'), 'matched'],
    [failed, null, 'matched'], // the trade was refused at creation
    [flagged, trade('SUCCESS', 3700), 'pending'], // what we flagged is what the platform took: an admin reviews it
    [submitted, trade('PROCESSING'), 'pending'],
    [confirmed, trade('PROCESSING'), 'pending'],
    [confirmed, null, 'pending'],
    [succeeded, null, 'missing_at_platform'],
    [refunded, null, 'missing_at_platform'],
    [submitted, null, 'missing_at_platform'],
    [submitted, trade('SUCCESS'), 'platform_paid_we_did_not'],
    [confirmed, trade('SUCCESS'), 'platform_paid_we_did_not'],
    [failed, trade('SUCCESS'), 'platform_paid_we_did_not'],
    [succeeded, trade('SUCCESS', 3801), 'amount_differs'],
    [flagged, trade('SUCCESS', 3800), 'amount_differs'],
    [succeeded, trade('FAILED'), 'status_differs'],
    [refunded, trade('CLOSED'), 'status_differs'],
    [succeeded, trade('PROCESSING'), 'status_differs'],
    [failed, trade('PROCESSING'), 'status_differs'],
    [submitted, trade('FAILED'), 'status_differs'],
  ];
  for (const [ours, theirs, expected] of table) {
    const label = ours.status === 'flagged' ? `flagged (reported ${ours.reported.value} fen)` : ours.status;
    it(`${label} ↔ ${theirs ? `${theirs.status} ${theirs.amount.value} fen` : 'no trade'} → ${expected}`, () => {
      expect(classify(ours, theirs)).toBe(expected);
    });
  }

  const refunding: Payment = { ...facts, status: 'refunding', tradeNo: 'T1', refundNo: 'R1', refund: cny(3800), reason: 'order_closed' };
  it('money the platform took that is still in review or being refunded: pending within the grace period, stranded after it', () => {
    expect(classify(flagged, trade('SUCCESS', 3700), false)).toBe('pending');
    expect(classify(flagged, trade('SUCCESS', 3700), true)).toBe('stranded');
    expect(classify(refunding, trade('SUCCESS'), false)).toBe('pending');
    expect(classify(refunding, trade('SUCCESS'), true)).toBe('stranded');
    expect(classify(refunded, trade('SUCCESS'), true)).toBe('matched');
  });
});

describe('reconcile against the platform the service talked to', () => {
  let t: TestLedger;
  beforeEach(async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
  });
  afterEach(async () => t.close());

  const platform = () => {
    const p = t.service.integrations.simulated.platform;
    if (!p) throw new Error('expected the in-process platform simulator');
    return p;
  };

  /** Two paid, one refunded after BOSS refused the card, one failed at the platform, one declined. */
  const driveOrders = async () => {
    platform().setFaults({ failMsisdnSuffixes: ['0004'] });
    t.service.integrations.simulated.boss?.setFaults({ refuseSmartcards: ['card-refuse'] });
    const a = await placeAndConfirm(t, 'rec-a');
    const b = await placeAndConfirm(t, 'rec-b', { productId: 'kids-quarter' });
    const refunded = await placeAndConfirm(t, 'rec-refunded', { smartcardId: 'card-refuse' });
    const failed = await placeAndConfirm(t, 'rec-failed', { msisdn: '13800130004' });
    const declined = (await t.placeOrder({ productId: 'opera-month' }, 'rec-declined')).json<{ orderId: string; paymentId: string }>();
    await t.app.inject({ method: 'POST', url: `/v1/payments/${declined.paymentId}/decline`, headers: { authorization: 'Bearer test-phone-app-token' } });
    await orderInStatus(t, a.orderId, 'provisioned');
    await orderInStatus(t, b.orderId, 'provisioned');
    await orderInStatus(t, refunded.orderId, 'refunded');
    await orderInStatus(t, failed.orderId, 'payment_failed');
    await orderInStatus(t, declined.orderId, 'cancelled');
    await caughtUp(t);
    return { a, b, refunded, failed, declined };
  };

  it('a log the service wrote matches the platform: every payment that reached it, none that did not', async () => {
    await driveOrders();
    const seen: string[] = [];
    const counting = disagreeing(platform(), {});
    const report = await reconcile(t.service.ledger.store, { ...counting, queryTrade: (id) => (seen.push(id), counting.queryTrade(id)) });
    expect(report.discrepancies).toEqual([]);
    expect(report.unchecked).toEqual([]);
    expect(report.counts).toEqual({ matched: 4, pending: 0, missing_at_platform: 0, platform_paid_we_did_not: 0, amount_differs: 0, status_differs: 0, stranded: 0 });
    expect(report).toMatchObject({ payments: 5, checked: 4 });
    expect(seen).toHaveLength(4); // the declined payment never reached the platform: not asked about
  });

  it('a platform that disagrees: each payment in the class the operator acts on, amounts in fen, no phone number', async () => {
    const { a, b, refunded, failed } = await driveOrders();
    const report = await reconcile(
      t.service.ledger.store,
      disagreeing(platform(), {
        [a.paymentId]: withStatus('FAILED'),
        [b.paymentId]: plusFen(1),
        [refunded.paymentId]: () => null,
        [failed.paymentId]: withStatus('SUCCESS'),
      }),
    );
    expect(report.counts).toEqual({ matched: 0, pending: 0, missing_at_platform: 1, platform_paid_we_did_not: 1, amount_differs: 1, status_differs: 1, stranded: 0 });
    const byPayment = Object.fromEntries(report.discrepancies.map((d) => [d.paymentId, d]));
    expect(byPayment[a.paymentId]).toMatchObject({ class: 'status_differs', orderId: a.orderId, ours: 'succeeded', theirs: 'FAILED', ourFen: 3800, theirFen: 3800 });
    expect(byPayment[b.paymentId]).toMatchObject({ class: 'amount_differs', orderId: b.orderId, ours: 'succeeded', theirs: 'SUCCESS', ourFen: 4500, theirFen: 4501 });
    expect(byPayment[refunded.paymentId]).toMatchObject({ class: 'missing_at_platform', ours: 'refunded', theirs: 'none', theirFen: null });
    expect(byPayment[refunded.paymentId]?.tradeNo).toMatch(/^T/); // ours, when the platform has none
    expect(byPayment[failed.paymentId]).toMatchObject({ class: 'platform_paid_we_did_not', ours: 'failed', theirs: 'SUCCESS', ourFen: 3800, theirFen: 3800 });
    const printed = formatReport(report) + JSON.stringify(report);
    expect(printed).toContain('4 DISCREPANCIES');
    expect(printed).not.toMatch(/1380013\d{4}/);
  });

  it('a payment the platform is still processing is pending, not a discrepancy; once settled without our knowing, money was taken', async () => {
    platform().setFaults({ dropNotifications: true }); // our payment stays submitted: the query is 120 s away on the test clock
    const o = await placeAndConfirm(t, 'rec-processing');
    await eventually(
      t,
      async () => ((await t.service.ledger.store.readStream(`payment-${o.paymentId}`)).some((e) => e.type === 'PaymentSubmitted') ? true : undefined),
      'the payment to be submitted',
    );
    const pending = await reconcile(t.service.ledger.store, disagreeing(platform(), { [o.paymentId]: withStatus('PROCESSING') }));
    expect(pending.counts).toMatchObject({ pending: 1, matched: 0 });
    expect(pending.discrepancies).toEqual([]);
    await eventually(t, async () => (platform().trades()[0]?.status === 'SUCCESS' ? true : undefined), 'the platform to settle');
    const paid = await reconcile(t.service.ledger.store, platform());
    expect(paid.discrepancies).toEqual([expect.objectContaining({ class: 'platform_paid_we_did_not', paymentId: o.paymentId, ours: 'submitted', theirs: 'SUCCESS' })]);
  });

  it('retries a platform that fails now and then; one that keeps failing leaves payments unchecked, never matched', async () => {
    const { a, b } = await driveOrders();
    platform().setFaults({ failNext: 2 });
    const retried = await reconcile(t.service.ledger.store, platform(), { ...noWait, concurrency: 1 });
    expect(retried.counts.matched).toBe(4);
    expect(retried.unchecked).toEqual([]);

    platform().setFaults({ errorRate: 1 });
    let waits = 0;
    const down = await reconcile(t.service.ledger.store, platform(), { retry: { maxAttempts: 3, sleep: async () => void waits++ } });
    expect(waits).toBe(4 * 2); // three attempts each
    expect(down.checked).toBe(0);
    expect(down.counts.matched).toBe(0);
    expect(down.unchecked.map((u) => u.paymentId)).toEqual(expect.arrayContaining([a.paymentId, b.paymentId]));
    expect(down.unchecked[0]?.error).toMatch(/payment-platform GET \/trades/);
    expect(formatReport(down)).toContain('4 payment(s) NOT CHECKED');
  });

  it('keeps at most `concurrency` queries in flight', async () => {
    await driveOrders();
    let inFlight = 0;
    let most = 0;
    const base = platform();
    const watched: PaymentPlatform = {
      ...base,
      queryTrade: async (id) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r)); // let the other workers start theirs
        try {
          return await base.queryTrade(id);
        } finally {
          inFlight--;
        }
      },
    };
    await reconcile(t.service.ledger.store, watched, { concurrency: 2 });
    expect(most).toBe(2);
    most = 0;
    await reconcile(t.service.ledger.store, watched);
    expect(most).toBe(4);
  });

  it('the CLI against the platform over HTTP: exit 0 when all match; a summary, each discrepancy and exit 1 when not', async () => {
    const { a } = await driveOrders();
    const rewrite: Record<string, (t: Trade | null) => Trade | null> = {};
    const server = await listen(platformHandler({ ...platform(), queryTrade: disagreeing(platform(), rewrite).queryTrade }, [PLATFORM_SECRET]));
    const env = { DATA_DIR: t.dataDir, PAYMENT_PLATFORM_URL: server.url, PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET, NODE_ENV: 'test' };
    try {
      const ok = await runCliChild(env);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('matched: 4, pending: 0');
      expect(ok.stdout).toContain('no discrepancies');

      rewrite[a.paymentId] = plusFen(1);
      const r = await runCliChild(env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('matched: 3, pending: 0, missing_at_platform: 0, platform_paid_we_did_not: 0, amount_differs: 1, status_differs: 0');
      expect(r.stdout).toContain(`amount_differs: payment ${a.paymentId} (order ${a.orderId}`);
      expect(r.stdout).toContain('ours succeeded 3800 fen, platform SUCCESS 3801 fen');
    } finally {
      await server.close();
    }
  });
});

describe('the CLI without a platform URL', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'tvpay-reconcile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('says there is nothing to reconcile against and exits 64', async () => {
    const r = await runCliChild({ DATA_DIR: dir, NODE_ENV: 'test' });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('PAYMENT_PLATFORM_URL is not set');
    expect(r.stderr).toContain('nothing to reconcile against');
    expect(r.stdout).toBe('');
  });
});

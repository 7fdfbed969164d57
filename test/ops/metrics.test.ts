/**
 * /metrics as Prometheus scrapes it: every known series present at 0 from the start, HTTP requests
 * by route pattern, the business counters following the log (counted once, not again after a
 * restart), the outbound backlog, rejected notifications, build_info.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { compose } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { createMetrics } from '../../app/metrics.ts';
import { packageVersion } from '../../app/project.ts';
import { TASK_KINDS } from '../../outbound/task.ts';
import { eventually, orderInStatus, placeAndConfirm, platformSim } from '../flow/support.ts';
import { notifyAbout, settledTrade } from '../support/platform-notifications.ts';
import { parseScrape, type Labels, type Sample } from '../support/promql.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';

const scrapeOf = async (t: Pick<TestLedger, 'app'>): Promise<Sample[]> => {
  const r = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(r.statusCode).toBe(200);
  return parseScrape(r.body);
};

/** The value of the one series with exactly these labels, or undefined when it is not exported. */
const value = (samples: Sample[], name: string, labels: Labels = {}): number | undefined => {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
};

let open: TestLedger[] = [];
const ledger = async (env: Record<string, string> = {}, process = true): Promise<TestLedger> => {
  const t = await startTestLedger({ RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '3', ...env }, { process });
  open.push(t);
  return t;
};
afterEach(async () => {
  for (const t of open) await t.close();
  open = [];
});

describe('a fresh service', () => {
  it('exports build_info: the package version and the Node.js version', async () => {
    const t = await ledger({}, false);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(value(await scrapeOf(t), 'tvpay_build_info', { version: packageVersion(), node: process.version })).toBe(1);
  });

  it('exports every route of the API document, with every status class, at 0 before any request', async () => {
    const t = await ledger({}, false);
    const scrape = await scrapeOf(t);
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => ({ route: path.replace(/\{(\w+)\}/g, ':$1'), method: m.toUpperCase() })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const { route, method } of operations) {
      for (const status_class of ['2xx', '4xx', '5xx']) {
        // The scrape itself is counted once it has been answered, after this sample was taken.
        expect(value(scrape, 'tvpay_http_requests_total', { route, method, status_class }), `${method} ${route} ${status_class}`).toBe(0);
      }
      expect(value(scrape, 'tvpay_http_request_duration_seconds_count', { route, method }), `${method} ${route}`).toBe(0);
    }
  });

  it('exports every business, command, outbound and backlog series at 0', async () => {
    const t = await ledger({}, false);
    const scrape = await scrapeOf(t);
    const zero = (name: string, labels: Labels) => expect(value(scrape, name, labels), `${name}${JSON.stringify(labels)}`).toBe(0);
    for (const outcome of ['placed', 'paid', 'provisioned', 'reprovisioned', 'cancelled', 'expired', 'payment_failed', 'provisioning_failed', 'refunded']) {
      zero('tvpay_orders_total', { outcome });
    }
    zero('tvpay_payments_total', { outcome: 'succeeded', reason: 'none' });
    zero('tvpay_payments_total', { outcome: 'failed', reason: 'platform_failed' });
    zero('tvpay_payments_total', { outcome: 'flagged', reason: 'amount_mismatch' });
    for (const name of ['tvpay_charged_fen_total', 'tvpay_refunded_fen_total', 'tvpay_flagged_fen_total']) zero(name, { currency: 'CNY' });
    for (const reason of ['missing', 'malformed', 'stale', 'mismatch']) zero('tvpay_notifications_rejected_total', { reason });
    zero('tvpay_commands_total', { command: 'PlaceOrder', outcome: 'accepted' });
    zero('tvpay_commands_total', { command: 'RecordRefund', outcome: 'conflict' });
    zero('tvpay_outbound_calls_total', { system: 'boss', task: 'boss', outcome: 'final' });
    for (const kind of TASK_KINDS) {
      for (const reason of ['refused', 'exhausted', 'deadline']) zero('tvpay_tasks_abandoned_total', { kind, reason });
      for (const status of ['pending', 'failed']) {
        zero('tvpay_task_backlog', { kind, status });
        zero('tvpay_task_backlog_overdue_seconds', { kind, status });
      }
    }
    for (const projection of ['orders', 'entitlements', 'outbound', 'finance', 'process']) zero('tvpay_projection_lag_seconds', { projection });
  });
});

describe('HTTP requests', () => {
  it('are counted by route pattern (never the raw path), method and status class; no route matched is `unmatched`', async () => {
    const t = await ledger();
    const placed = await t.placeOrder({}, 'http-1');
    expect(placed.statusCode).toBe(201);
    const orderId = placed.json<{ orderId: string }>().orderId;
    expect((await t.app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(TOKENS.service) })).statusCode).toBe(200);
    const unknown = randomUUID();
    expect((await t.app.inject({ method: 'GET', url: `/v1/orders/${unknown}`, headers: bearer(TOKENS.service) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/v1/orders/${unknown}`, headers: bearer('wrong-token-123') })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/no/such/path' })).statusCode).toBe(404);
    const scrape = await scrapeOf(t);
    const requests = (route: string, method: string, status_class: string) => value(scrape, 'tvpay_http_requests_total', { route, method, status_class });
    expect(requests('/v1/orders', 'POST', '2xx')).toBe(1);
    expect(requests('/v1/orders/:orderId', 'GET', '2xx')).toBe(1);
    expect(requests('/v1/orders/:orderId', 'GET', '4xx')).toBe(2);
    expect(requests('unmatched', 'GET', '4xx')).toBe(1);
    expect(scrape.filter((s) => s.labels.route?.includes(unknown) || s.labels.route?.includes(orderId) || s.labels.route?.includes('/no/'))).toEqual([]);
    expect(value(scrape, 'tvpay_http_request_duration_seconds_count', { route: '/v1/orders/:orderId', method: 'GET' })).toBe(3);
    expect(value(scrape, 'tvpay_http_request_duration_seconds_sum', { route: '/v1/orders/:orderId', method: 'GET' })).toBeGreaterThan(0);
  });

  it('notifications refused for their signature are counted by reason, and nothing else is', async () => {
    const t = await ledger({}, false);
    const body = { notificationId: 'n-1', tradeNo: 'T1', outTradeNo: 'p-1', status: 'SUCCESS', amount: { value: 3800, currency: 'CNY' } };
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/payment-notifications', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }))
        .statusCode,
    ).toBe(401);
    expect((await t.notify(body, { at: Math.floor(t.clock.now.getTime() / 1000) - 3600 })).statusCode).toBe(401);
    expect((await t.notify(body, { secret: 'someone-elses-secret-0123456789' })).statusCode).toBe(401);
    expect((await t.notify(body)).statusCode).toBe(404); // signed right, unknown payment: not a signature rejection
    const scrape = await scrapeOf(t);
    const rejected = (reason: string) => value(scrape, 'tvpay_notifications_rejected_total', { reason });
    expect([rejected('missing'), rejected('stale'), rejected('mismatch'), rejected('malformed')]).toEqual([1, 1, 1, 0]);
  });
});

describe('business counters, from the log', () => {
  it('a provisioned order, a reprovision and an amount mismatch: orders by outcome, payments by outcome, fen charged and flagged', async () => {
    const t = await ledger();
    const ok = await placeAndConfirm(t, 'biz-1');
    await orderInStatus(t, ok.orderId, 'provisioned');
    expect((await t.app.inject({ method: 'POST', url: `/v1/orders/${ok.orderId}/reprovision`, headers: bearer(TOKENS.service) })).statusCode).toBe(202);

    const platform = platformSim(t);
    platform.setFaults({ dropNotifications: true });
    const odd = await placeAndConfirm(t, 'biz-2', { subscriberId: 'sub-odd' });
    const trade = await settledTrade(t, odd.paymentId);
    const notified = await notifyAbout(t, trade, { notificationId: 'n-odd', status: 'SUCCESS', amount: { value: 1, currency: 'CNY' } });
    expect(notified.statusCode).toBe(200);

    const scrape = await eventually(
      t,
      async () => {
        const s = await scrapeOf(t);
        return value(s, 'tvpay_orders_total', { outcome: 'reprovisioned' }) === 1 && value(s, 'tvpay_flagged_fen_total', { currency: 'CNY' }) === 1
          ? s
          : undefined;
      },
      'the reprovision and the flag to be counted',
      { tickSeconds: 1 },
    );
    expect(value(scrape, 'tvpay_orders_total', { outcome: 'placed' })).toBe(2);
    expect(value(scrape, 'tvpay_orders_total', { outcome: 'paid' })).toBe(1);
    expect(value(scrape, 'tvpay_orders_total', { outcome: 'provisioned' })).toBe(1);
    expect(value(scrape, 'tvpay_payments_total', { outcome: 'succeeded', reason: 'none' })).toBe(1);
    expect(value(scrape, 'tvpay_payments_total', { outcome: 'flagged', reason: 'amount_mismatch' })).toBe(1);
    expect(value(scrape, 'tvpay_charged_fen_total', { currency: 'CNY' })).toBe(3800);
    expect(value(scrape, 'tvpay_refunded_fen_total', { currency: 'CNY' })).toBe(0);
  });

  it('BOSS refusing: provisioning failed, refunded; the BOSS task counted as given up', async () => {
    const t = await ledger();
    t.service.integrations.simulated.boss?.setFaults({ refuseAll: true });
    const o = await placeAndConfirm(t, 'biz-refused');
    await orderInStatus(t, o.orderId, 'refunded');
    const scrape = await eventually(
      t,
      async () => {
        const s = await scrapeOf(t);
        return value(s, 'tvpay_orders_total', { outcome: 'refunded' }) === 1 ? s : undefined;
      },
      'the refund to be counted',
    );
    expect(value(scrape, 'tvpay_orders_total', { outcome: 'provisioning_failed' })).toBe(1);
    expect(value(scrape, 'tvpay_payments_total', { outcome: 'refunded', reason: 'none' })).toBe(1);
    expect(value(scrape, 'tvpay_refunded_fen_total', { currency: 'CNY' })).toBe(3800);
    expect(value(scrape, 'tvpay_charged_fen_total', { currency: 'CNY' })).toBe(3800);
    expect(value(scrape, 'tvpay_tasks_abandoned_total', { kind: 'boss', reason: 'refused' })).toBe(1);
    expect(value(scrape, 'tvpay_outbound_calls_total', { system: 'boss', task: 'boss', outcome: 'final' })).toBe(1);
  });

  it('a restarted process counts what happens after it starts, never the history again', async () => {
    const t = await ledger();
    const o = await placeAndConfirm(t, 'biz-restart');
    await orderInStatus(t, o.orderId, 'provisioned');
    await t.service.close();
    open = open.filter((x) => x !== t);
    const again = await compose(loadConfig(t.env), createLogger('silent'), () => t.clock.now);
    try {
      again.start();
      await again.app.ready();
      for (const p of again.projections.values()) await p.waitFor(await again.ledger.store.headPosition());
      const before = await scrapeOf(again);
      expect(value(before, 'tvpay_orders_total', { outcome: 'placed' })).toBe(0);
      expect(value(before, 'tvpay_charged_fen_total', { currency: 'CNY' })).toBe(0);
      const placed = await again.app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': 'after-restart' },
        payload: { subscriberId: 'sub-2', smartcardId: '8100123456789012', msisdn: '13800138000', productId: 'sports-month', paymentMethod: 'mobile' },
      });
      expect(placed.statusCode).toBe(201);
      await again.projections.get('orders')?.waitFor(await again.ledger.store.headPosition());
      expect(value(await scrapeOf(again), 'tvpay_orders_total', { outcome: 'placed' })).toBe(1);
    } finally {
      await again.close();
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
  it('a read model rebuilt from the log replays history: events recorded before the process started are not counted', async () => {
    const metrics = createMetrics({ version: '0.0.0-test' });
    const succeeded = (recordedAt: Date) => ({ type: 'PaymentSucceeded', data: { paymentId: 'p', amount: { value: 3800, currency: 'CNY' } }, recordedAt });
    metrics.observeEvent(succeeded(new Date(Date.now() - 3_600_000)));
    metrics.observeEvent(succeeded(new Date(Date.now() - 24 * 3_600_000)));
    const history = parseScrape(await metrics.registry.metrics());
    expect(value(history, 'tvpay_charged_fen_total', { currency: 'CNY' })).toBe(0);
    metrics.observeEvent(succeeded(new Date()));
    const news = parseScrape(await metrics.registry.metrics());
    expect(value(news, 'tvpay_charged_fen_total', { currency: 'CNY' })).toBe(3800);
    expect(value(news, 'tvpay_payments_total', { outcome: 'succeeded', reason: 'none' })).toBe(1);
  });
});

describe('the outbound backlog', () => {
  it('with no worker running (another process holds its lease): pending tasks by kind, and how long the oldest has been due', async () => {
    const t = await ledger({}, false);
    expect(await t.service.reads.acquireLease('outbound-worker', 'another-process', 3_600_000, t.clock.now)).not.toBeNull();
    t.service.start();
    expect((await t.placeOrder({}, 'backlog-1')).statusCode).toBe(201);
    const queue = t.service.projections.get('outbound');
    if (!queue) throw new Error('the outbound queue projection is not running');
    await queue.waitFor(await t.service.ledger.store.headPosition());
    t.clock.advance(90);
    const scrape = await scrapeOf(t);
    // The code SMS to the phone and the order SMS to the TV; the expiry is not due yet.
    expect(value(scrape, 'tvpay_task_backlog', { kind: 'sms', status: 'pending' })).toBe(2);
    expect(value(scrape, 'tvpay_task_backlog_overdue_seconds', { kind: 'sms', status: 'pending' })).toBe(90);
    expect(value(scrape, 'tvpay_task_backlog', { kind: 'expire', status: 'pending' })).toBe(1);
    expect(value(scrape, 'tvpay_task_backlog_overdue_seconds', { kind: 'expire', status: 'pending' })).toBe(0);
    expect(value(scrape, 'tvpay_task_backlog', { kind: 'boss', status: 'pending' })).toBe(0);
  });

  it('BOSS down past RETRY_MAX_ATTEMPTS: one failed BOSS task, waiting for a person; nothing pending once the rest ran', async () => {
    const t = await ledger();
    t.service.integrations.simulated.boss?.setFaults({ failNext: 100 });
    const o = await placeAndConfirm(t, 'backlog-boss');
    const scrape = await eventually(
      t,
      async () => {
        const s = await scrapeOf(t);
        return value(s, 'tvpay_task_backlog', { kind: 'boss', status: 'failed' }) === 1 &&
          value(s, 'tvpay_task_backlog', { kind: 'sms', status: 'pending' }) === 0
          ? s
          : undefined;
      },
      'the BOSS task to fail',
      { tickSeconds: 4 },
    );
    expect((await orderInStatus(t, o.orderId, 'paid')).status).toBe('paid');
    expect(value(scrape, 'tvpay_task_backlog_overdue_seconds', { kind: 'boss', status: 'failed' })).toBe(0);
    expect(value(scrape, 'tvpay_tasks_abandoned_total', { kind: 'boss', reason: 'exhausted' })).toBe(1);
    expect(value(scrape, 'tvpay_outbound_calls_total', { system: 'boss', task: 'boss', outcome: 'retryable' })).toBe(3);
  });
});

/**
 * ops/prometheus/alerts.yml and ops/grafana/tvpay-ledger.json against real scrapes of the service
 * (in one process, with the simulators and a test clock). promtool is not available: the rules are
 * evaluated by test/support/promql.ts over two scrapes, the earlier one standing for the start of
 * each rule's range.
 *
 * - healthy: a fresh service takes an order through to provisioned; no rule fires.
 * - trouble: a forged notification, BOSS refusing, the payment platform failing five payments, a
 *   projection stopped for ten minutes; exactly the four matching rules fire.
 * - stalled: no worker runs the outbound work (another process holds its lease) for ten minutes;
 *   only the backlog rule fires.
 * - unassigned: CONSUMERS leaves the journal out (and no other process runs it); only the rule on
 *   consumers that run nowhere fires. Split over two processes that between them run all: quiet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../../app/project.ts';
import { eventually, orderInStatus, placeAndConfirm } from '../flow/support.ts';
import { evaluateAlert, matches, parse, parseScrape, selectorsOf, type Sample } from '../support/promql.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';

type Rule = { alert: string; expr: string };

const rules: Rule[] = (parseYaml(readFileSync(join(PROJECT_ROOT, 'ops/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

type Panel = { title?: string; targets?: { expr: string }[]; panels?: Panel[] };
const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, 'ops/grafana/tvpay-ledger.json'), 'utf8')) as { panels: Panel[] };
const panelExprs = (panels: Panel[]): { title: string; expr: string }[] =>
  panels.flatMap((p) => [...(p.targets ?? []).map((t) => ({ title: p.title ?? '', expr: t.expr })), ...panelExprs(p.panels ?? [])]);

const scrape = async (t: TestLedger): Promise<Sample[]> => {
  const r = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(r.statusCode).toBe(200);
  return parseScrape(r.body);
};

/** Which rules fire in each scenario, with the labels of what fires. */
const TROUBLE = {
  TvpayProjectionLagging: [{ projection: 'finance' }],
  TvpayProvisioningFailed: [{}],
  TvpayMoneyTaskGaveUp: [{ kind: 'refund' }],
  TvpayPaymentFailureRatioHigh: [{}],
  TvpayNotificationsRejected: [{ reason: 'mismatch' }],
};
const STALLED = { TvpayTaskBacklogStale: [{ kind: 'sms' }] };
const UNASSIGNED = { TvpayConsumerNotRunning: [{}] };

let fresh: Sample[];
let healthy: Sample[];
let trouble: Sample[];
let stalledBefore: Sample[];
let stalled: Sample[];
let unassigned: Sample[];
let split: Sample[];
const ledgers: TestLedger[] = [];

beforeAll(async () => {
  // healthy, then trouble
  const t = await startTestLedger({ RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '3', PAYMENT_QUERY_DEADLINE_SECONDS: '60' }, { process: true });
  ledgers.push(t);
  fresh = await scrape(t);
  const ok = await placeAndConfirm(t, 'healthy-1');
  await orderInStatus(t, ok.orderId, 'provisioned');
  healthy = await scrape(t);

  expect(
    (
      await t.notify(
        { notificationId: 'forged', tradeNo: 'T', outTradeNo: ok.paymentId, status: 'SUCCESS', amount: { value: 1, currency: 'CNY' } },
        { secret: 'not-the-platform-secret-0123' },
      )
    ).statusCode,
  ).toBe(401);
  const { boss, platform } = t.service.integrations.simulated;
  if (!boss || !platform) throw new Error('expected the in-process simulators');
  boss.setFaults({ refuseAll: true });
  const refused = await placeAndConfirm(t, 'refused-1', { subscriberId: 'sub-refused' });
  await orderInStatus(t, refused.orderId, 'refunded');
  boss.setFaults({ refuseAll: false });
  platform.setFaults({ failMsisdnSuffixes: ['0004'] });
  for (let i = 0; i < 5; i++) {
    const failed = await placeAndConfirm(t, `failing-${i}`, { msisdn: `139120${i}0004`, subscriberId: `sub-failing-${i}` });
    await orderInStatus(t, failed.orderId, 'payment_failed');
  }
  // A refund the platform refuses: asked again until its deadline, which the jump below passes.
  boss.setFaults({ refuseAll: true });
  platform.setFaults({ failMsisdnSuffixes: [], failOperations: ['POST /refunds'], failStatus: 422 });
  const stranded = await placeAndConfirm(t, 'stranded-1', { subscriberId: 'sub-stranded' });
  await orderInStatus(t, stranded.orderId, 'provisioning_failed');
  boss.setFaults({ refuseAll: false });
  // The finance read model stops; the log moves on; ten minutes pass (the lag is measured against
  // the store's recording times, which are the machine's).
  await t.service.projections.get('finance')?.stop();
  const late = await t.placeOrder({ subscriberId: 'sub-late' }, 'late-1');
  expect(late.statusCode).toBe(201);
  t.clock.now = new Date(Date.now() + 10 * 60_000);
  // Everything the jump made due (the late order's expiry, payment queries) is run: only the lag remains.
  await orderInStatus(t, late.json<{ orderId: string }>().orderId, 'expired', { tickSeconds: 1 });
  trouble = await eventually(
    t,
    async () => {
      const s = await scrape(t);
      return s.some((x) => x.name === 'tvpay_task_backlog_overdue_seconds' && x.value > 0) ? undefined : s;
    },
    'the worker to run everything due',
  );

  // stalled
  const s = await startTestLedger({}, { process: false });
  ledgers.push(s);
  expect(await s.service.reads.acquireLease('outbound-worker', 'another-process', 3_600_000, s.clock.now)).not.toBeNull();
  s.service.start();
  const placed = await s.placeOrder({}, 'stalled-1');
  expect(placed.statusCode).toBe(201);
  const queue = s.service.projections.get('outbound');
  if (!queue) throw new Error('the outbound queue projection is not running');
  await queue.waitFor(await s.service.ledger.store.headPosition());
  stalledBefore = await scrape(s);
  s.clock.advance(600);
  stalled = await scrape(s);

  // unassigned, and split: the scrapes of every process, as Prometheus holds them
  const everyConsumer = [...new Set(healthy.filter((x) => x.name === 'tvpay_projection_lag_seconds').map((x) => x.labels.projection ?? ''))];
  const withoutJournal = await startTestLedger({ CONSUMERS: [...everyConsumer.filter((c) => c !== 'journal'), 'worker'].join(',') }, { process: true });
  ledgers.push(withoutJournal);
  unassigned = await scrape(withoutJournal);
  const other = await startTestLedger({ DATA_DIR: withoutJournal.dataDir, CONSUMERS: 'journal' }, { process: true });
  ledgers.push(other);
  split = [...unassigned, ...(await scrape(other))];
}, 120_000);

afterAll(async () => {
  // The later ones first: two share a data directory, which the first one's close removes.
  for (const t of ledgers.reverse()) await t.close();
});

describe('ops/prometheus/alerts.yml', () => {
  it('every rule is exercised by a scenario here', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...Object.keys(TROUBLE), ...Object.keys(STALLED), ...Object.keys(UNASSIGNED)].sort());
  });

  it('the consumers rule counts every read model and reactor the ledger has (a default process runs them all)', () => {
    const rule = rules.find((r) => r.alert === 'TvpayConsumerNotRunning');
    const lagging = new Set(fresh.filter((x) => x.name === 'tvpay_projection_lag_seconds').map((x) => x.labels.projection));
    expect(rule?.expr).toBe(`count(count by (projection) (tvpay_projection_lag_seconds)) < ${lagging.size}`);
  });

  const ranges = () => ({
    healthy: { before: fresh, now: healthy },
    trouble: { before: healthy, now: trouble },
    stalled: { before: stalledBefore, now: stalled },
    unassigned: { before: unassigned, now: unassigned },
    split: { before: split, now: split },
  });
  const EXPECTED: Record<string, Record<string, Record<string, string>[]>> = {
    healthy: {},
    trouble: TROUBLE,
    stalled: STALLED,
    unassigned: UNASSIGNED,
    split: {},
  };

  it.each(rules)('$alert fires in its scenario, with the labels of what is wrong, and is quiet in the others', ({ alert, expr }) => {
    for (const [scenario, range] of Object.entries(ranges())) {
      const firing = evaluateAlert(expr, range).map((e) => e.labels);
      expect(firing, `${alert} in the ${scenario} scenario`).toEqual(EXPECTED[scenario]?.[alert] ?? []);
    }
  });

  it('the backlog rule reports how long the oldest task has waited', () => {
    const rule = rules.find((r) => r.alert === 'TvpayTaskBacklogStale');
    expect(evaluateAlert(rule?.expr ?? '', ranges().stalled)).toEqual([{ labels: { kind: 'sms' }, value: 600 }]);
  });
});

describe('every metric and label the rules and the dashboard use exists in a fresh scrape (all series start at 0)', () => {
  const exprs = [...rules.map((r) => ({ title: r.alert, expr: r.expr })), ...panelExprs(dashboard.panels)];

  it.each(exprs)('$title', ({ expr }) => {
    for (const sel of selectorsOf(parse(expr.replaceAll('$__rate_interval', '5m')))) {
      const named = fresh.filter((s) => s.name === sel.name);
      expect(named.length, `${sel.name} in a fresh scrape`).toBeGreaterThan(0);
      for (const m of sel.matchers)
        expect(
          named.some((s) => m.label in s.labels),
          `${sel.name} has a label ${m.label}`,
        ).toBe(true);
      expect(
        named.some((s) => matches(sel, s)),
        `${sel.name}{${sel.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(',')}} selects a series`,
      ).toBe(true);
    }
  });
});

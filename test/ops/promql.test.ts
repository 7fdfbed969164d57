/** The tiny PromQL evaluator the alert tests rely on: it must fire and stay quiet as Prometheus would. */
import { describe, expect, it } from 'vitest';
import { evaluateAlert, parse, parseScrape, selectorsOf } from '../support/promql.ts';

const before = parseScrape(`
# HELP tvpay_payments_total Payments
# TYPE tvpay_payments_total counter
tvpay_payments_total{outcome="succeeded",reason="none"} 10
tvpay_payments_total{outcome="failed",reason="platform_failed"} 0
tvpay_payments_total{outcome="failed",reason="too_many_wrong_codes"} 0
tvpay_lag_seconds{projection="orders"} 0
tvpay_lag_seconds{projection="tasks"} 0
`);
const now = parseScrape(`
tvpay_payments_total{outcome="succeeded",reason="none"} 12
tvpay_payments_total{outcome="failed",reason="platform_failed"} 3
tvpay_payments_total{outcome="failed",reason="too_many_wrong_codes"} 7
tvpay_payments_total{outcome="flagged",reason="amount_mismatch"} 1
tvpay_lag_seconds{projection="orders"} 0.5
tvpay_lag_seconds{projection="tasks"} 90
tvpay_escaped{text="a \\"quoted\\" \\\\ value"} +Inf
`);

describe('promql', () => {
  it('reads the exposition format: labels, escapes, +Inf', () => {
    expect(now.find((s) => s.name === 'tvpay_escaped')).toEqual({ name: 'tvpay_escaped', labels: { text: 'a "quoted" \\ value' }, value: Infinity });
    expect(before).toHaveLength(5);
  });

  it('a comparison filters: only the lagging projection fires, with its labels and value', () => {
    expect(evaluateAlert('max by (projection) (tvpay_lag_seconds) > 60', { now })).toEqual([{ labels: { projection: 'tasks' }, value: 90 }]);
    expect(evaluateAlert('max by (projection) (tvpay_lag_seconds) > 60', { now: before })).toEqual([]);
  });

  it('increase() over two scrapes, matchers, sums and a ratio: 3 platform failures of 5 answers', () => {
    const ratio =
      'sum(increase(tvpay_payments_total{outcome="failed",reason=~"platform_.*"}[30m])) / sum(increase(tvpay_payments_total{outcome=~"succeeded|failed",reason!="too_many_wrong_codes"}[30m]))';
    expect(evaluateAlert(ratio, { before, now })).toEqual([{ labels: {}, value: 0.6 }]);
    expect(evaluateAlert(`(${ratio}) > 0.7`, { before, now })).toEqual([]);
    expect(evaluateAlert(`(${ratio}) > 0.5 and sum(increase(tvpay_payments_total[30m])) >= 5`, { before, now })).toHaveLength(1);
    expect(evaluateAlert(`(${ratio}) > 0.5 and sum(increase(tvpay_payments_total[30m])) >= 50`, { before, now })).toEqual([]);
  });

  it('rate() divides by the range; a series absent from the first scrape has no increase (as in Prometheus)', () => {
    expect(evaluateAlert('sum by (outcome) (rate(tvpay_payments_total{outcome="succeeded"}[1m]))', { before, now })).toEqual([
      { labels: { outcome: 'succeeded' }, value: 2 / 60 },
    ]);
    expect(evaluateAlert('increase(tvpay_payments_total{outcome="flagged"}[5m]) > 0', { before, now })).toEqual([]);
  });

  it('or, unless, bool, clamp_min, and arithmetic with scalars', () => {
    expect(
      evaluateAlert('tvpay_lag_seconds > 60 or tvpay_lag_seconds < 1', { now })
        .map((e) => e.labels.projection)
        .sort(),
    ).toEqual(['orders', 'tasks']);
    expect(evaluateAlert('tvpay_lag_seconds unless tvpay_lag_seconds > 60', { now })).toEqual([{ labels: { projection: 'orders' }, value: 0.5 }]);
    expect(
      evaluateAlert('tvpay_lag_seconds > bool 60', { now })
        .map((e) => e.value)
        .sort(),
    ).toEqual([0, 1]);
    expect(
      evaluateAlert('clamp_min(tvpay_lag_seconds, 10) * 2 - 20', { now })
        .map((e) => e.value)
        .sort((a, b) => a - b),
    ).toEqual([0, 160]);
  });

  it('lists the selectors an expression needs, histogram_quantile included; refuses what it does not know', () => {
    const names = selectorsOf(parse('histogram_quantile(0.95, sum by (le) (rate(tvpay_x_bucket{route="/a"}[5m]))) / tvpay_y')).map((s) => s.name);
    expect(names).toEqual(['tvpay_x_bucket', 'tvpay_y']);
    expect(() => parse('topk(3, tvpay_x)')).toThrow();
    expect(() => parse('sum(tvpay_x')).toThrow(/unexpected end/);
    expect(() => evaluateAlert('increase(tvpay_x[5m]) > 0', { now })).toThrow(/two scrapes/);
  });
});

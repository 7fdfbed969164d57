/**
 * Prometheus metrics (README, "Metrics"): HTTP requests per route, commands by outcome, append
 * latency, projection lag, outbound calls by outcome, the task backlog, the business counters
 * (orders, payments, fen), rejected notifications, and build_info.
 *
 * Every label combination known in advance is exported at 0 from the start, so `rate()` and
 * `increase()` see a series before its first increment and dashboards show 0, not "no data".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandOutcome } from '../commands/execute.ts';
import type { OrderCommand } from '../domain/order/decide.ts';
import type { PaymentCommand } from '../domain/payment/decide.ts';
import type { VerifyFailure } from '../integrations/signature.ts';
import type { RunningProjection } from '../projections/runner.ts';
import type { TaskCommand } from '../outbound/decide.ts';
import { TASK_KINDS, type TaskKind } from '../outbound/task.ts';
import type { OutboundOutcome } from '../outbound/worker.ts';
import { reached, type EventStore, type RecordedEvent } from '../stores/event-store.ts';
import type { HttpObserver } from '../http/request-metrics.ts';
import { LIMIT_NAMES } from '../http/limits.ts';
import { CURRENCY_CODES, ORDER_OUTCOMES, PAYMENT_OUTCOMES, TASK_GIVE_UP_REASONS, countsOf, type Count } from './business-counts.ts';

/** One line of the outbound work: how many tasks of a kind are in a status, and the oldest due time among those still to run. */
export type BacklogRow = { kind: string; status: string; count: number; oldestDueAt: Date | null };

export type Metrics = {
  registry: Registry;
  http: HttpObserver;
  observeCommand(command: string, outcome: CommandOutcome, seconds: number): void;
  observeAppend(seconds: number): void;
  observeOutbound(kind: TaskKind, outcome: OutboundOutcome): void;
  /** A partner's timestamp was further from our clock than PARTNER_CLOCK_SKEW_SECONDS. */
  observeClockSkew(partner: 'payment-platform'): void;
  /** An event of the log, counted once (the composition root calls this from one projection's commits). */
  observeEvent(event: Pick<RecordedEvent, 'type' | 'data' | 'recordedAt'>): void;
  watchProjections(store: EventStore, names: readonly string[], projections: () => readonly RunningProjection[], now: () => Date): void;
  /** Read at every scrape. `known` lists the kinds and statuses whose series start at 0. */
  watchTaskBacklog(read: () => Promise<readonly BacklogRow[]>, known: { kinds: readonly string[]; statuses: readonly string[] }, now: () => Date): void;
};

export type MetricsOptions = { version: string };

const SYSTEM_OF: Record<TaskKind, string> = {
  expire: 'timer',
  trade: 'payment-platform',
  query: 'payment-platform',
  refund: 'payment-platform',
  boss: 'boss',
  sms: 'sms',
  callback: 'open-platform',
};

const COMMANDS: Record<OrderCommand['type'] | PaymentCommand['type'] | TaskCommand['type'], true> = {
  PlaceOrder: true,
  MarkPaymentPending: true,
  MarkPaid: true,
  MarkPaymentFailed: true,
  CancelOrder: true,
  ExpireOrder: true,
  MarkProvisioned: true,
  MarkProvisioningFailed: true,
  RequestReprovision: true,
  MarkRefunded: true,
  RequestPayment: true,
  ConfirmPayment: true,
  ResendCode: true,
  DeclinePayment: true,
  RecordTradeCreated: true,
  RecordPlatformResult: true,
  RecordTradeNotCreated: true,
  VoidPayment: true,
  RequestRefund: true,
  ReviewPayment: true,
  RecordRefund: true,
  ClaimAttempt: true,
  RecordOutcome: true,
};
const COMMAND_OUTCOMES: Record<CommandOutcome, true> = { accepted: true, unchanged: true, refused: true, conflict: true, error: true };
const OUTBOUND_OUTCOMES: Record<OutboundOutcome, true> = { ok: true, retryable: true, final: true, error: true };
const REJECTIONS: Record<VerifyFailure, true> = { missing: true, malformed: true, stale: true, mismatch: true };
/** The status classes a route's counter starts with (3xx and 1xx appear when they happen). */
const STATUS_CLASSES = ['2xx', '4xx', '5xx'] as const;

/** How much older than this process an event may be and still be counted (clock skew with the store). */
const HISTORY_MARGIN_MS = 60_000;

const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

export const createMetrics = (opts: MetricsOptions): Metrics => {
  const startedAt = Date.now();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** A counter in this registry, with the `known` series exported at 0 from the start. */
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], known: readonly Record<L, string>[]): Counter<L> => {
    const c = new Counter({ name, help, labelNames, registers: [registry] });
    for (const labels of known) c.inc(labels, 0);
    return c;
  };
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> =>
    new Histogram({ name, help, labelNames, buckets, registers: [registry] });
  /** A gauge in this registry; `collect` runs at every scrape, before it is read. */
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: () => Promise<void>): Gauge<L> =>
    new Gauge({ name, help, labelNames, registers: [registry], ...(collect && { collect }) });

  gauge('tvpay_build_info', 'The running version (package.json) and Node.js; always 1', ['version', 'node']).set(
    { version: opts.version, node: process.version },
    1,
  );

  // ---- HTTP
  const httpRequests = counter(
    'tvpay_http_requests_total',
    'HTTP requests by route pattern, method and status class (unmatched: no route)',
    ['route', 'method', 'status_class'],
    [], // each route's series start at 0 when the route registers (`http.route` below)
  );
  const httpSeconds = histogram(
    'tvpay_http_request_duration_seconds',
    'HTTP request duration, from arrival to the response sent, by route pattern and method',
    ['route', 'method'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  const rejected = counter(
    'tvpay_notifications_rejected_total',
    'Payment notifications refused for their X-Platform-Signature (401), by reason',
    ['reason'],
    Object.keys(REJECTIONS).map((reason) => ({ reason })),
  );
  const rateLimited = counter(
    'tvpay_rate_limited_total',
    'Requests refused (429) by an abuse limit, by limit (RATE_LIMIT_* in the configuration)',
    ['limit'],
    LIMIT_NAMES.map((limit) => ({ limit })),
  );

  // ---- commands and the event store
  const commands = counter(
    'tvpay_commands_total',
    'Commands by name and outcome',
    ['command', 'outcome'],
    Object.keys(COMMANDS).flatMap((command) => Object.keys(COMMAND_OUTCOMES).map((outcome) => ({ command, outcome }))),
  );
  const commandSeconds = histogram(
    'tvpay_command_duration_seconds',
    'Command duration (read, decide, append)',
    ['command'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  for (const command of Object.keys(COMMANDS)) commandSeconds.zero({ command });
  const appendSeconds = histogram(
    'tvpay_event_append_seconds',
    'Event store append latency (durable)',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  );

  // ---- outbound work
  const outbound = counter(
    'tvpay_outbound_calls_total',
    'Calls to the payment platform, BOSS and SMS gateway by outcome',
    ['system', 'task', 'outcome'],
    TASK_KINDS.flatMap((task) => Object.keys(OUTBOUND_OUTCOMES).map((outcome) => ({ system: SYSTEM_OF[task], task, outcome }))),
  );
  const abandoned = counter(
    'tvpay_tasks_abandoned_total',
    'Outbound tasks given up, by kind and reason (refused: a final answer; exhausted: out of attempts; deadline: no answer in time)',
    ['kind', 'reason'],
    TASK_KINDS.flatMap((kind) => TASK_GIVE_UP_REASONS.map((reason) => ({ kind, reason }))),
  );
  const skew = counter(
    'tvpay_partner_clock_skew_total',
    'Partner timestamps further from our clock than PARTNER_CLOCK_SKEW_SECONDS (recorded, never used to schedule)',
    ['partner'],
    [{ partner: 'payment-platform' }],
  );

  let readBacklog: (() => Promise<void>) | undefined;
  let reading: Promise<void> | undefined;
  /** Both gauges come from one read per scrape (the registry collects them concurrently). */
  const refreshBacklog = async (): Promise<void> => {
    if (!readBacklog) return;
    reading ??= readBacklog().finally(() => {
      reading = undefined;
    });
    await reading;
  };
  const backlog = gauge(
    'tvpay_task_backlog',
    'Outbound tasks by kind and status (pending: still to run; failed: given up, waiting for a person)',
    ['kind', 'status'],
    refreshBacklog,
  );
  const overdue = gauge(
    'tvpay_task_backlog_overdue_seconds',
    'How long the oldest task still to run has been due, by kind and status (0: none is due)',
    ['kind', 'status'],
    refreshBacklog,
  );

  // ---- the business, from the log
  const orders = counter(
    'tvpay_orders_total',
    'Orders reaching each outcome (placed, paid, provisioned, …)',
    ['outcome'],
    ORDER_OUTCOMES.map((outcome) => ({ outcome })),
  );
  const payments = counter(
    'tvpay_payments_total',
    'Payments by outcome and reason (failed: too_many_wrong_codes or the platform’s answer; flagged: held for review)',
    ['outcome', 'reason'],
    PAYMENT_OUTCOMES,
  );
  const byCurrency = CURRENCY_CODES.map((currency) => ({ currency }));
  const fen = {
    charged_fen: counter('tvpay_charged_fen_total', 'Money charged (payments succeeded), in fen', ['currency'], byCurrency),
    refunded_fen: counter('tvpay_refunded_fen_total', 'Money refunded, in fen', ['currency'], byCurrency),
    flagged_fen: counter('tvpay_flagged_fen_total', 'Money flagged for review (the amount the platform reported), in fen', ['currency'], byCurrency),
  };

  const count = (c: Count): void => {
    switch (c.metric) {
      case 'orders':
        return orders.inc({ outcome: c.outcome });
      case 'payments':
        return payments.inc({ outcome: c.outcome, reason: c.reason });
      case 'charged_fen':
      case 'refunded_fen':
      case 'flagged_fen':
        return fen[c.metric].inc({ currency: c.currency }, c.fen);
      case 'tasks_abandoned':
        return abandoned.inc({ kind: c.kind, reason: c.reason });
      default: {
        const never: never = c;
        return never;
      }
    }
  };

  // ---- projections
  let watch: (() => Promise<void>) | undefined;
  const lag = gauge(
    'tvpay_projection_lag_seconds',
    'Age of the newest event a projection has not processed yet (0 when caught up)',
    ['projection'],
    async () => {
      await watch?.();
    },
  );

  return {
    registry,
    http: {
      route: (route, method) => {
        for (const status_class of STATUS_CLASSES) httpRequests.inc({ route, method, status_class }, 0);
        httpSeconds.zero({ route, method });
      },
      request: (route, method, statusCode, seconds) => {
        httpRequests.inc({ route, method, status_class: statusClass(statusCode) });
        httpSeconds.observe({ route, method }, seconds);
      },
      notificationRejected: (reason) => rejected.inc({ reason }),
      rateLimited: (limit) => rateLimited.inc({ limit }),
    },
    observeCommand: (command, outcome, seconds) => {
      commands.inc({ command, outcome });
      commandSeconds.observe({ command }, seconds);
    },
    observeAppend: (seconds) => appendSeconds.observe(seconds),
    observeOutbound: (kind, outcome) => outbound.inc({ system: SYSTEM_OF[kind], task: kind, outcome }),
    observeClockSkew: (partner) => skew.inc({ partner }),
    observeEvent: (event) => {
      // History is not news: a read model rebuilt from the log (a new read store, a reset) replays
      // every event, and counting those again would show years of orders as one spike. Events
      // recorded before this process started (less a margin for clock skew with the store) are left out.
      if (event.recordedAt.getTime() < startedAt - HISTORY_MARGIN_MS) return;
      for (const c of countsOf(event)) count(c);
    },
    watchProjections: (store, names, projections, now) => {
      for (const projection of names) lag.set({ projection }, 0);
      watch = async () => {
        const head = await store.headPosition();
        for (const p of projections()) {
          const behind = !reached(p.position(), head);
          const last = p.lastRecordedAt();
          // Before its first event, a projection that is behind is as late as this process is old.
          lag.set({ projection: p.name }, behind ? Math.max(0, (now().getTime() - (last?.getTime() ?? startedAt)) / 1000) : 0);
        }
      };
    },
    watchTaskBacklog: (read, known, now) => {
      const zero = (): void => {
        backlog.reset();
        overdue.reset();
        for (const kind of known.kinds) {
          for (const status of known.statuses) {
            backlog.set({ kind, status }, 0);
            overdue.set({ kind, status }, 0);
          }
        }
      };
      zero();
      readBacklog = async () => {
        const rows = await read();
        const at = now().getTime();
        zero();
        for (const r of rows) {
          backlog.set({ kind: r.kind, status: r.status }, r.count);
          overdue.set({ kind: r.kind, status: r.status }, r.oldestDueAt ? Math.max(0, (at - r.oldestDueAt.getTime()) / 1000) : 0);
        }
      };
    },
  };
};

/** Times every append of the given store. */
export const timedAppends = (store: EventStore, observe: (seconds: number) => void): EventStore => ({
  append: async (streamId, events, expected) => {
    const started = performance.now();
    try {
      return await store.append(streamId, events, expected);
    } finally {
      observe((performance.now() - started) / 1000);
    }
  },
  readStream: (id, slice) => store.readStream(id, slice),
  readAll: (from, limit) => store.readAll(from, limit),
  headPosition: () => store.headPosition(),
  subscribeAll: (from) => store.subscribeAll(from),
  close: () => store.close(),
});

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
  const registers = [registry];

  new Gauge({ name: 'tvpay_build_info', help: 'The running version (package.json) and Node.js; always 1', labelNames: ['version', 'node'], registers }).set(
    { version: opts.version, node: process.version },
    1,
  );

  // ---- HTTP
  const httpRequests = new Counter({
    name: 'tvpay_http_requests_total',
    help: 'HTTP requests by route pattern, method and status class (unmatched: no route)',
    labelNames: ['route', 'method', 'status_class'],
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'tvpay_http_request_duration_seconds',
    help: 'HTTP request duration, from arrival to the response sent, by route pattern and method',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const rejected = new Counter({
    name: 'tvpay_notifications_rejected_total',
    help: 'Payment notifications refused for their X-Platform-Signature (401), by reason',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of Object.keys(REJECTIONS)) rejected.inc({ reason }, 0);
  const rateLimited = new Counter({
    name: 'tvpay_rate_limited_total',
    help: 'Requests refused (429) by an abuse limit, by limit (RATE_LIMIT_* in the configuration)',
    labelNames: ['limit'],
    registers,
  });
  for (const limit of LIMIT_NAMES) rateLimited.inc({ limit }, 0);

  // ---- commands and the event store
  const commands = new Counter({ name: 'tvpay_commands_total', help: 'Commands by name and outcome', labelNames: ['command', 'outcome'], registers });
  const commandSeconds = new Histogram({
    name: 'tvpay_command_duration_seconds',
    help: 'Command duration (read, decide, append)',
    labelNames: ['command'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  for (const command of Object.keys(COMMANDS)) {
    for (const outcome of Object.keys(COMMAND_OUTCOMES)) commands.inc({ command, outcome }, 0);
    commandSeconds.zero({ command });
  }
  const appendSeconds = new Histogram({
    name: 'tvpay_event_append_seconds',
    help: 'Event store append latency (durable)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers,
  });

  // ---- outbound work
  const outbound = new Counter({
    name: 'tvpay_outbound_calls_total',
    help: 'Calls to the payment platform, BOSS and SMS gateway by outcome',
    labelNames: ['system', 'task', 'outcome'],
    registers,
  });
  for (const task of TASK_KINDS) for (const outcome of Object.keys(OUTBOUND_OUTCOMES)) outbound.inc({ system: SYSTEM_OF[task], task, outcome }, 0);
  const abandoned = new Counter({
    name: 'tvpay_tasks_abandoned_total',
    help: 'Outbound tasks given up, by kind and reason (refused: a final answer; exhausted: out of attempts; deadline: no answer in time)',
    labelNames: ['kind', 'reason'],
    registers,
  });
  for (const kind of TASK_KINDS) for (const reason of TASK_GIVE_UP_REASONS) abandoned.inc({ kind, reason }, 0);
  const skew = new Counter({
    name: 'tvpay_partner_clock_skew_total',
    help: 'Partner timestamps further from our clock than PARTNER_CLOCK_SKEW_SECONDS (recorded, never used to schedule)',
    labelNames: ['partner'],
    registers,
  });
  skew.inc({ partner: 'payment-platform' }, 0);

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
  const backlog = new Gauge({
    name: 'tvpay_task_backlog',
    help: 'Outbound tasks by kind and status (pending: still to run; failed: given up, waiting for a person)',
    labelNames: ['kind', 'status'],
    registers,
    collect: refreshBacklog,
  });
  const overdue = new Gauge({
    name: 'tvpay_task_backlog_overdue_seconds',
    help: 'How long the oldest task still to run has been due, by kind and status (0: none is due)',
    labelNames: ['kind', 'status'],
    registers,
    collect: refreshBacklog,
  });

  // ---- the business, from the log
  const orders = new Counter({
    name: 'tvpay_orders_total',
    help: 'Orders reaching each outcome (placed, paid, provisioned, …)',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ORDER_OUTCOMES) orders.inc({ outcome }, 0);
  const payments = new Counter({
    name: 'tvpay_payments_total',
    help: 'Payments by outcome and reason (failed: too_many_wrong_codes or the platform’s answer; flagged: held for review)',
    labelNames: ['outcome', 'reason'],
    registers,
  });
  for (const p of PAYMENT_OUTCOMES) payments.inc({ outcome: p.outcome, reason: p.reason }, 0);
  const fen = {
    charged_fen: new Counter({ name: 'tvpay_charged_fen_total', help: 'Money charged (payments succeeded), in fen', labelNames: ['currency'], registers }),
    refunded_fen: new Counter({ name: 'tvpay_refunded_fen_total', help: 'Money refunded, in fen', labelNames: ['currency'], registers }),
    flagged_fen: new Counter({
      name: 'tvpay_flagged_fen_total',
      help: 'Money flagged for review (the amount the platform reported), in fen',
      labelNames: ['currency'],
      registers,
    }),
  };
  for (const counter of Object.values(fen)) for (const currency of CURRENCY_CODES) counter.inc({ currency }, 0);

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
  const lag = new Gauge({
    name: 'tvpay_projection_lag_seconds',
    help: 'Age of the newest event a projection has not processed yet (0 when caught up)',
    labelNames: ['projection'],
    registers,
    async collect() {
      await watch?.();
    },
  });

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
  readStream: (id) => store.readStream(id),
  readAll: (from, limit) => store.readAll(from, limit),
  headPosition: () => store.headPosition(),
  subscribeAll: (from) => store.subscribeAll(from),
  close: () => store.close(),
});

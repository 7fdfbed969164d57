/** Prometheus metrics: commands by outcome, append latency, projection lag, outbound calls by outcome. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandOutcome } from '../commands/execute.ts';
import type { RunningProjection } from '../projections/runner.ts';
import type { OutboundOutcome } from '../outbound/worker.ts';
import type { GiveUpReason, TaskKind } from '../outbound/task.ts';
import { reached, type EventStore } from '../stores/event-store.ts';

export type Metrics = {
  registry: Registry;
  observeCommand(command: string, outcome: CommandOutcome, seconds: number): void;
  observeAppend(seconds: number): void;
  observeOutbound(kind: TaskKind, outcome: OutboundOutcome): void;
  /** A task gave up: a person may have to look (customer service, finance). */
  observeGaveUp(kind: TaskKind, reason: GiveUpReason): void;
  /** A partner's timestamp was further from our clock than PARTNER_CLOCK_SKEW_SECONDS. */
  observeClockSkew(partner: string): void;
  watchProjections(store: EventStore, projections: () => readonly RunningProjection[], now: () => Date): void;
};

const SYSTEM_OF: Record<TaskKind, string> = {
  expire: 'timer',
  trade: 'payment-platform',
  query: 'payment-platform',
  refund: 'payment-platform',
  boss: 'boss',
  sms: 'sms',
  callback: 'open-platform',
};

export const createMetrics = (): Metrics => {
  const startedAt = Date.now();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const commands = new Counter({ name: 'tvpay_commands_total', help: 'Commands by name and outcome', labelNames: ['command', 'outcome'], registers: [registry] });
  const commandSeconds = new Histogram({
    name: 'tvpay_command_duration_seconds',
    help: 'Command duration (read, decide, append)',
    labelNames: ['command'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const appendSeconds = new Histogram({
    name: 'tvpay_event_append_seconds',
    help: 'Event store append latency (durable)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  const outbound = new Counter({
    name: 'tvpay_outbound_calls_total',
    help: 'Calls to the payment platform, BOSS and SMS gateway by outcome',
    labelNames: ['system', 'task', 'outcome'],
    registers: [registry],
  });
  const gaveUp = new Counter({
    name: 'tvpay_outbound_gave_up_total',
    help: 'Outbound tasks that gave up, by kind and reason (refused: a final answer; exhausted: attempts; deadline)',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  });
  const skew = new Counter({
    name: 'tvpay_partner_clock_skew_total',
    help: 'Partner timestamps further from our clock than PARTNER_CLOCK_SKEW_SECONDS (recorded, never used to schedule)',
    labelNames: ['partner'],
    registers: [registry],
  });
  let watch: (() => Promise<void>) | undefined;
  const lag = new Gauge({
    name: 'tvpay_projection_lag_seconds',
    help: 'Age of the newest event a projection has not processed yet (0 when caught up)',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      await watch?.();
    },
  });
  return {
    registry,
    observeCommand: (command, outcome, seconds) => {
      commands.inc({ command, outcome });
      commandSeconds.observe({ command }, seconds);
    },
    observeAppend: (seconds) => appendSeconds.observe(seconds),
    observeOutbound: (kind, outcome) => outbound.inc({ system: SYSTEM_OF[kind], task: kind, outcome }),
    observeGaveUp: (kind, reason) => gaveUp.inc({ kind, reason }),
    observeClockSkew: (partner) => skew.inc({ partner }),
    watchProjections: (store, projections, now) => {
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

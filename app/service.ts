/**
 * The composition root: builds the whole service from a Config, once, for `npm start`, the scripts
 * and the benches. Nothing else decides which adapters run; nothing else reads the environment.
 *
 * compose() builds, on the ledger's core (app/core.ts: stores, deciders' dependencies, integrations,
 * read models), the HTTP server, the metrics' watchers and the consumers' start and stop. serve()
 * listens and then starts the consumers (projections, reactors, the outbound worker: those CONSUMERS
 * names) under the bound address's identity, in that one order. start() starts the consumers
 * without listening (scripts).
 * close() stops taking requests, finishes in-flight work, commits checkpoints and closes the stores,
 * in that order.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startDailySeal } from '../commands/seal-log.ts';
import { BACKLOG_KINDS, BACKLOG_STATUSES, readTaskBacklog } from '../outbound/backlog.ts';
import type { OutboundWorker } from '../outbound/worker.ts';
import { startProjection, type RunningProjection } from '../projections/runner.ts';
import type { RecordedEvent } from '../stores/event-store.ts';
import type { Config } from './config.ts';
import { consumersHere } from './consumers.ts';
import { composeCore, type Core } from './core.ts';
import { startOutbound } from './outbound.ts';
import { buildServer } from './server.ts';

export type Service = Core & {
  app: FastifyInstance;
  /** The running projections by name (empty before the consumers start). */
  projections: ReadonlyMap<string, RunningProjection>;
  /** Listens, then starts the consumers as `host:port`; resolves with the URL it listens on. */
  serve(at: { port: number; host: string }): Promise<string>;
  /** Starts the consumers without listening (scripts), as a process-unique owner. */
  start(): void;
  close(): Promise<void>;
};

/** A consumer's readiness where CONSUMERS leaves it to another process. */
const ELSEWHERE = 'elsewhere';

/** Where this machine answers for an address it listens on (all interfaces: the loopback). */
const publicHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

export const compose = async (config: Config, logger: Logger, now: () => Date = () => new Date()): Promise<Service> => {
  const core = await composeCore(config, logger, now);
  const { ledger, reads, integrations, metrics, definitions, privacy, smsTemplates, msisdnKey, projections, caughtUp } = core;
  const { store } = ledger;
  let worker: OutboundWorker | undefined;
  let sealer: { stop(): void } | undefined;
  let started = false;

  // A name CONSUMERS gets wrong stops the start (exit 78) before a port is bound or a consumer runs.
  let here: (name: string) => boolean;
  try {
    here = consumersHere(
      config.consumers,
      definitions.map((d) => d.name),
    );
  } catch (err) {
    await core.close();
    throw err;
  }
  // Lag is reported where a read model runs: a process that leaves one to another never reports it as 0.
  metrics.watchProjections(
    store,
    definitions.filter((d) => here(d.name)).map((d) => d.name),
    () => [...projections.values()],
    now,
  );
  metrics.watchTaskBacklog(readTaskBacklog(reads), { kinds: BACKLOG_KINDS, statuses: BACKLOG_STATUSES }, now);

  const ready = async () => {
    const checks: Record<string, string> = {};
    await store.headPosition().then(
      () => (checks.eventStore = 'ok'),
      (err: unknown) => (checks.eventStore = `unreachable: ${err instanceof Error ? err.message : String(err)}`),
    );
    await reads.checkpoint('orders').then(
      () => (checks.readStore = 'ok'),
      (err: unknown) => (checks.readStore = `unreachable: ${err instanceof Error ? err.message : String(err)}`),
    );
    // A consumer on standby (another process holds its lease) is as ready as an active one, and so
    // is one that CONSUMERS leaves to another process.
    for (const d of definitions) checks[`projection:${d.name}`] = here(d.name) ? (projections.get(d.name)?.state() ?? 'not started') : ELSEWHERE;
    checks.taskWorker = here('worker') ? (worker?.state() ?? 'not started') : ELSEWHERE;
    return { ready: Object.values(checks).every((v) => v === 'ok' || v === 'active' || v === 'standby' || v === ELSEWHERE), checks };
  };
  const { simulated } = integrations;
  const app = await buildServer({
    ledger,
    tokens: config.tokens,
    platformSecrets: config.paymentPlatformSecrets,
    limits: config.limits,
    trustProxy: config.trustProxy,
    logger,
    health: { ready, metrics: () => metrics.registry.metrics() },
    queries: { reads, ledger, msisdnKey, caughtUp },
    subscribers: { erase: privacy.erase },
    ...(!config.production && simulated.sms && { devOutbox: simulated.sms.messages }),
    // The demo pages only while every partner is simulated: no real money, BOSS or SMS is ever involved.
    ...(!config.production && simulated.platform && simulated.boss && simulated.sms && { demo: { ledger, reads, msisdnKey, inbox: simulated.sms.messages } }),
    observe: metrics.http,
    ...(config.publicBaseUrl !== undefined && { publicBaseUrl: config.publicBaseUrl }),
  });

  /** Starts, as `owner`, the consumers CONSUMERS names (app/consumers.ts): projections, reactors, the outbound worker, the daily seal, retention. */
  const startConsumers = (owner: string, notifyBase: string): void => {
    if (started) return;
    started = true;
    for (const d of definitions.filter((x) => here(x.name))) {
      // The business counters follow the orders read model's commits: each event is counted once,
      // by the process holding that projection's lease (sum the counters over the processes).
      const onCommitted = d.name === 'orders' ? (events: readonly RecordedEvent[]) => events.forEach(metrics.observeEvent) : undefined;
      projections.set(
        d.name,
        startProjection(d, { events: store, reads, owner, logger, now, leaseTtlMs: config.leaseTtlMs, ...(onCommitted && { onCommitted }) }),
      );
    }
    if (here('worker'))
      worker = startOutbound({
        config,
        ledger,
        reads,
        integrations,
        smsTemplates,
        notifyUrl: `${notifyBase}/v1/payment-notifications`,
        caughtUp,
        owner,
        logger,
        onOutcome: metrics.observeOutbound,
      });
    if (here('seal')) sealer = startDailySeal({ store, now, logger });
    if (here('retention')) privacy.start();
  };

  return {
    app,
    ledger,
    reads,
    integrations,
    metrics,
    definitions,
    projections,
    serve: async ({ port, host }) => {
      await app.listen({ port, host });
      const address = app.server.address();
      const bound = address && typeof address === 'object' ? address.port : port;
      const url = `http://${publicHost(host)}:${bound}`;
      // A listening process is `host:port`: restarted after a crash on the same port, it takes its own
      // leases back at once, and two live processes can never share it (the second cannot bind the port).
      startConsumers(`${hostname()}:${bound}`, config.publicBaseUrl ?? url);
      return url;
    },
    start: () =>
      startConsumers(`${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, config.publicBaseUrl ?? `http://${publicHost(config.host)}:${config.port}`),
    close: async () => {
      await app.close();
      sealer?.stop();
      logger.info('shutdown: requests drained; stopping the outbound worker');
      await worker?.stop();
      logger.info('shutdown: outbound worker stopped; stopping projections');
      await Promise.all([...projections.values()].map((p) => p.stop()));
      logger.info('shutdown: projections stopped, checkpoints committed; closing stores');
      await core.close();
    },
  };
};

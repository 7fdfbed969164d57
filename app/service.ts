/**
 * The composition root: builds the whole service from a Config, once, for `npm start`, the scripts
 * and the benches. Nothing else decides which adapters run; nothing else reads the environment.
 *
 * compose() builds. serve() listens and then starts the consumers (projections, reactors, the outbound
 * worker) under the bound address's identity, in that one order. start() starts the consumers without
 * listening (scripts). close() stops taking requests, finishes in-flight work, commits checkpoints and
 * closes the stores, in that order.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import { msisdnSearchKey } from '../domain/msisdn.ts';
import { processReactor } from '../commands/process-reactor.ts';
import { startDailySeal } from '../commands/seal-log.ts';
import { createIntegrations, type Integrations } from '../integrations/index.ts';
import { BACKLOG_KINDS, BACKLOG_STATUSES, readTaskBacklog } from '../outbound/backlog.ts';
import { codeDelivered } from '../outbound/delivery.ts';
import { outboundQueueProjection } from '../outbound/queue.ts';
import type { OutboundWorker } from '../outbound/worker.ts';
import { entitlementsProjection } from '../projections/entitlements.ts';
import { financeProjection } from '../projections/finance.ts';
import { journalProjection } from '../projections/journal.ts';
import { ordersProjection } from '../projections/orders.ts';
import { prepareProjections, startProjection, type RunningProjection } from '../projections/runner.ts';
import type { Projection } from '../projections/projection.ts';
import { reached, type RecordedEvent } from '../stores/event-store.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { ConfigError, type Config } from './config.ts';
import { createMetrics, timedAppends, type Metrics } from './metrics.ts';
import { startOutbound } from './outbound.ts';
import { loadCatalog, loadSmsTemplates, packageVersion } from './project.ts';
import { codeSecretFor } from './secrets.ts';
import { oneTimeCodes } from '../commands/one-time-code.ts';
import { buildServer } from './server.ts';
import { composePrivacy } from './privacy.ts';
import { openEventStore, openReadStore, privacyConfigOf } from './stores.ts';

export type Service = {
  app: FastifyInstance;
  ledger: LedgerDeps;
  reads: ReadStore;
  integrations: Integrations;
  metrics: Metrics;
  /** Every projection and reactor this service runs. */
  definitions: readonly Projection[];
  /** The running projections by name (empty before the consumers start). */
  projections: ReadonlyMap<string, RunningProjection>;
  /** Listens, then starts the consumers as `host:port`; resolves with the URL it listens on. */
  serve(at: { port: number; host: string }): Promise<string>;
  /** Starts the consumers without listening (scripts), as a process-unique owner. */
  start(): void;
  close(): Promise<void>;
};

/** Loads an operator-edited file; what is wrong with it is a configuration error. */
const operatorFile = <T>(load: () => T): T => {
  try {
    return load();
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
};

/** Where this machine answers for an address it listens on (all interfaces: the loopback). */
const publicHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

export const compose = async (config: Config, logger: Logger, now: () => Date = () => new Date()): Promise<Service> => {
  // The operator's files first: a bad one stops the start (ConfigError, exit 78) before anything is opened.
  const catalog = operatorFile(() => loadCatalog(config.catalogFile));
  const smsTemplates = operatorFile(() => loadSmsTemplates(config.smsTemplatesFile));
  mkdirSync(config.dataDir, { recursive: true });
  const metrics = createMetrics({ version: packageVersion() });
  const rawStore = await openEventStore(config);
  const store = timedAppends(rawStore, metrics.observeAppend);
  const reads = await openReadStore(config);
  const codeSecret = codeSecretFor(config);
  // Personal data: keys, sealing, erasure, retention (app/privacy.ts). `caughtUp` is defined below.
  const privacy = await composePrivacy(privacyConfigOf(config), {
    store,
    reads,
    now,
    logger,
    observe: metrics.observeCommand,
    caughtUp: (name, timeoutMs) => caughtUp(name, timeoutMs),
  });
  const ledger: LedgerDeps = {
    store,
    now,
    catalog,
    personalData: privacy.personalData,
    codes: oneTimeCodes(codeSecret),
    orderTtlSeconds: config.orderTtlSeconds,
    codeTtlSeconds: config.codeTtlSeconds,
    observe: metrics.observeCommand,
    codeDelivered: codeDelivered(store),
    partnerClockSkewSeconds: config.partnerClockSkewSeconds,
    onClockSkew: (r) => {
      metrics.observeClockSkew(r.partner);
      logger.warn(r, 'partner clock skew: the platform paidAt is %d s from our clock (recorded, not used)', r.skewSeconds);
    },
    onFollowUpFailed: (event, err) => logger.warn({ err, eventId: event.id, type: event.type }, 'inline follow-up failed; the process reactor will run it'),
  };
  const msisdnKey = (msisdn: string): string => msisdnSearchKey(codeSecret, msisdn);

  const integrations = createIntegrations({
    paymentPlatformSecret: config.paymentPlatformSecrets[0] ?? '',
    timeouts: {
      platform: config.lanes.platform.timeoutMs,
      boss: config.lanes.boss.timeoutMs,
      sms: config.lanes.sms.timeoutMs,
      callback: config.lanes.callback.timeoutMs,
    },
    ...(config.paymentPlatformUrl && { paymentPlatformUrl: config.paymentPlatformUrl }),
    ...(config.bossUrl && { bossUrl: config.bossUrl }),
    ...(config.bossToken && { bossToken: config.bossToken }),
    ...(config.smsGatewayUrl && { smsGatewayUrl: config.smsGatewayUrl }),
    ...(config.openPlatformCallback && { openPlatformCallback: config.openPlatformCallback }),
    // The simulators keep the ledger's clock, so their times (paidAt) agree with ours; the platform's
    // notifications reach the service over its port, like a real platform's.
    simulators: { boss: { now }, sms: { now }, platform: { now } },
  });

  const definitions: Projection[] = [
    ordersProjection({ searchKey: msisdnKey, reveal: privacy.personalData.reveal }),
    entitlementsProjection(),
    outboundQueueProjection({ paymentQueryAfterSeconds: config.paymentQueryAfterSeconds, callbacks: integrations.openPlatform !== undefined }),
    financeProjection(),
    journalProjection(),
    processReactor(ledger, logger),
    ...privacy.definitions,
  ];
  await prepareProjections(reads, definitions);
  const projections = new Map<string, RunningProjection>();
  let worker: OutboundWorker | undefined;
  let sealer: { stop(): void } | undefined;

  /**
   * Resolves once the named read model holds everything recorded so far: waits on the projection where
   * this process runs it, and on the read store's checkpoint where another process does (shared store).
   */
  const caughtUp = async (name: string, timeoutMs: number): Promise<void> => {
    const head = await store.headPosition();
    const local = projections.get(name);
    if (local?.state() === 'active') return local.waitFor(head, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    while (!reached(await reads.checkpoint(name), head)) {
      if (Date.now() > deadline) throw new Error(`read model ${name} did not catch up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  metrics.watchProjections(
    store,
    definitions.map((d) => d.name),
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
    // A consumer on standby (another process holds its lease) is as ready as an active one.
    for (const d of definitions) checks[`projection:${d.name}`] = projections.get(d.name)?.state() ?? 'not started';
    checks.taskWorker = worker?.state() ?? 'not started';
    return { ready: Object.values(checks).every((v) => v === 'ok' || v === 'active' || v === 'standby'), checks };
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

  /** Starts the projections, reactors, the outbound worker and the daily seal, as `owner`. */
  const startConsumers = (owner: string, notifyBase: string): void => {
    if (projections.size > 0) return;
    for (const d of definitions) {
      // The business counters follow the orders read model's commits: each event is counted once,
      // by the process holding that projection's lease (sum the counters over the processes).
      const onCommitted = d.name === 'orders' ? (events: readonly RecordedEvent[]) => events.forEach(metrics.observeEvent) : undefined;
      projections.set(
        d.name,
        startProjection(d, { events: store, reads, owner, logger, now, leaseTtlMs: config.leaseTtlMs, ...(onCommitted && { onCommitted }) }),
      );
    }
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
    sealer = startDailySeal({ store, now, logger });
    privacy.start();
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
      integrations.close();
      await privacy.close();
      await rawStore.close();
      await reads.close();
    },
  };
};

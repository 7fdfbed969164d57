/**
 * The composition root: builds the whole service from a Config. Nothing else
 * decides which adapters run; nothing else reads the environment.
 *
 * compose() builds; start() starts the projections, reactors and task worker;
 * close() stops taking requests, finishes in-flight work, commits checkpoints and
 * closes the stores, in that order.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import { msisdnSearchKey } from '../commands/msisdn.ts';
import { parseCatalog, type Catalog } from '../domain/catalog.ts';
import { createIntegrations, type Integrations } from '../integrations/index.ts';
import { createOpenPlatformClient } from '../integrations/open-platform-client.ts';
import { entitlementsProjection } from '../projections/entitlements.ts';
import { financeProjection } from '../projections/finance.ts';
import { ordersProjection } from '../projections/orders.ts';
import { processReactor } from '../commands/process-reactor.ts';
import { prepareProjections, startProjection, type Projection, type RunningProjection } from '../projections/runner.ts';
import { bossAction } from '../outbound/actions/boss.ts';
import { callbackAction } from '../outbound/actions/callback.ts';
import { expireAction } from '../outbound/actions/expire.ts';
import { queryAction } from '../outbound/actions/query.ts';
import { refundAction } from '../outbound/actions/refund.ts';
import { smsAction } from '../outbound/actions/sms.ts';
import { tradeAction } from '../outbound/actions/trade.ts';
import { codeDelivered } from '../outbound/delivery.ts';
import { outboundQueueProjection } from '../outbound/queue.ts';
import { startOutboundWorker, type OutboundWorker } from '../outbound/worker.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { reached, type EventStore, type RecordedEvent } from '../stores/event-store.ts';
import { BACKLOG_KINDS, BACKLOG_STATUSES, readTaskBacklog } from '../outbound/backlog.ts';
import { openMongoReadStore } from '../stores/mongodb/read-store.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../stores/sqlite/read-store.ts';
import { buildApp } from './app.ts';
import { composePrivacy, type PrivacyConfig } from './privacy.ts';
import type { Config } from './config.ts';
import { createMetrics, timedAppends, type Metrics } from './metrics.ts';
import { packageVersion } from './project.ts';

export type Service = {
  app: FastifyInstance;
  ledger: LedgerDeps;
  reads: ReadStore;
  integrations: Integrations;
  metrics: Metrics;
  /** Starts the projections, reactors and the task worker; after listen() when serving HTTP. */
  start(): void;
  /** Every projection and reactor this service runs. */
  definitions: readonly Projection[];
  /** The running projections by name (empty before start). */
  projections: ReadonlyMap<string, RunningProjection>;
  close(): Promise<void>;
};

export const loadCatalog = (file: string): Catalog => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`catalog ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseCatalog(json);
};

/** Outside production a secret not configured is generated once per data dir and kept there (mode 0600). */
const generatedSecret = (dataDir: string, name: string): string => {
  const file = join(dataDir, name);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process on the same data directory wrote it first: use theirs.
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
    }
  }
  return readFileSync(file, 'utf8').trim();
};

/** Where the data keys live and what wraps them (docs/privacy.md); also for the scripts that seal or re-wrap. */
export const privacyConfigOf = (config: Config): PrivacyConfig => ({
  mongodb: config.mongodbUrl ? { url: config.mongodbUrl, database: mongoDatabase(config.mongodbUrl) ?? 'tvpay_read' } : undefined,
  dataKeysFile: config.dataKeysFile,
  dataKeySecrets: config.dataKeySecrets ?? [generatedSecret(config.dataDir, 'data-key-secret')],
  piiRetentionDays: config.piiRetentionDays,
});

const openEventStore = async (config: Config): Promise<EventStore> =>
  config.eventstoreUrl ? openEsdbEventStore(config.eventstoreUrl) : openSqliteEventStore(join(config.dataDir, 'events.db'));

/** The database named in a MongoDB connection string (`mongodb://host/<db>?…`), if any. */
const mongoDatabase = (url: string): string | undefined => /^mongodb(?:\+srv)?:\/\/[^/?]+\/([^?]+)/.exec(url)?.[1];

const openReadStore = async (config: Config): Promise<ReadStore> =>
  config.mongodbUrl
    ? openMongoReadStore(config.mongodbUrl, mongoDatabase(config.mongodbUrl) ?? 'tvpay_read')
    : openSqliteReadStore(join(config.dataDir, 'read.db'));

export const compose = async (config: Config, logger: Logger, now: () => Date = () => new Date()): Promise<Service> => {
  mkdirSync(config.dataDir, { recursive: true });
  const catalog = loadCatalog(config.catalogFile);
  const metrics = createMetrics({ version: packageVersion() });
  const rawStore = await openEventStore(config);
  const store = timedAppends(rawStore, metrics.observeAppend);
  const reads = await openReadStore(config);
  const codeSecret = config.codeSecret ?? generatedSecret(config.dataDir, 'code-secret');
  // Personal data: keys, sealing, erasure, retention (http/privacy.ts).
  const privacy = await composePrivacy(
    privacyConfigOf(config),
    { store, reads, now, logger, observe: metrics.observeCommand, caughtUp: (name, timeoutMs) => caughtUp(name, timeoutMs) },
  );
  const ledger: LedgerDeps = {
    store,
    now,
    catalog,
    personalData: privacy.personalData,
    codeSecret,
    orderTtlSeconds: config.orderTtlSeconds,
    codeTtlSeconds: config.codeTtlSeconds,
    observe: metrics.observeCommand,
    codeDelivered: codeDelivered(store),
    partnerClockSkewSeconds: config.partnerClockSkewSeconds,
    onClockSkew: (r) => {
      metrics.observeClockSkew(r.partner);
      logger.warn(r, 'partner clock skew: the platform paidAt is %d s from our clock (recorded, not used)', r.skewSeconds);
    },
    onFollowUpFailed: (event, err) =>
      logger.warn({ err, eventId: event.id, type: event.type }, 'inline follow-up failed; the process reactor will run it'),
  };
  const msisdnKey = (msisdn: string): string => msisdnSearchKey(codeSecret, msisdn);

  // The in-process platform simulator delivers its signed notifications through the app itself.
  let app: FastifyInstance | undefined;
  const integrations = createIntegrations({
    paymentPlatformSecret: config.paymentPlatformSecrets[0] ?? '',
    timeouts: { platform: config.lanes.platform.timeoutMs, boss: config.lanes.boss.timeoutMs, sms: config.lanes.sms.timeoutMs },
    ...(config.paymentPlatformUrl && { paymentPlatformUrl: config.paymentPlatformUrl }),
    ...(config.bossUrl && { bossUrl: config.bossUrl }),
    ...(config.bossToken && { bossToken: config.bossToken }),
    ...(config.smsGatewayUrl && { smsGatewayUrl: config.smsGatewayUrl }),
    // The simulators keep the ledger's clock, so their times (paidAt) agree with ours.
    simulators: {
      boss: { now },
      sms: { now },
      platform: {
        now,
        deliver: async (url, headers, body) => {
          if (!app) return { status: 503, text: 'starting' };
          const r = await app.inject({ method: 'POST', url: new URL(url).pathname, headers, payload: body });
          return { status: r.statusCode, text: r.body };
        },
      },
    },
  });

  // Optional: without OPEN_PLATFORM_CALLBACK_URL the open platform polls GET /v1/orders/{id}, and no callback task exists.
  const openPlatform = config.openPlatformCallback && createOpenPlatformClient({ ...config.openPlatformCallback, timeoutMs: config.lanes.callback.timeoutMs });

  const definitions: Projection[] = [
    ordersProjection({ searchKey: msisdnKey, reveal: privacy.personalData.reveal }),
    entitlementsProjection(),
    outboundQueueProjection({ paymentQueryAfterSeconds: config.paymentQueryAfterSeconds, callbacks: openPlatform !== undefined }),
    financeProjection(),
    processReactor(ledger, logger),
    ...privacy.definitions,
  ];
  await prepareProjections(reads, definitions);
  const projections = new Map<string, RunningProjection>();
  let worker: OutboundWorker | undefined;
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
  /**
   * Who holds the leases. A listening process is `host:port`: restarted after a crash on the same
   * port, it takes its own leases back at once instead of waiting for them to expire, and two live
   * processes can never share it (the second cannot bind the port: start() runs after listen()).
   */
  const ownerId = (): string => {
    const address = app?.server.address();
    return address && typeof address === 'object' ? `${hostname()}:${address.port}` : `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  };
  metrics.watchProjections(store, definitions.map((d) => d.name), () => [...projections.values()], now);
  // The outbound backlog gauges, read from the tasks read model at each scrape.
  metrics.watchTaskBacklog(readTaskBacklog(reads), { kinds: BACKLOG_KINDS, statuses: BACKLOG_STATUSES }, now);

  app = await buildApp({
    ledger,
    tokens: config.tokens,
    platformSecrets: config.paymentPlatformSecrets,
    logger,
    queries: {
      reads,
      ledger,
      msisdnKey,
      caughtUp,
    },
    ...(!config.production &&
      integrations.simulated.sms && {
        devOutbox: (filter) => integrations.simulated.sms?.messages(filter) ?? [],
      }),
    // The demo pages only while every partner is simulated: no real money, BOSS or SMS is ever involved.
    ...(!config.production &&
      integrations.simulated.platform &&
      integrations.simulated.boss &&
      integrations.simulated.sms && {
        demo: { ledger, reads, msisdnKey, inbox: integrations.simulated.sms.messages },
      }),
    subscribers: { erase: privacy.erase },
    metrics: () => metrics.registry.metrics(),
    observe: metrics.http,
    health: {
      ready: async () => {
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
      },
    },
  });
  const built = app;

  return {
    app: built,
    ledger,
    reads,
    integrations,
    metrics,
    definitions,
    projections,
    start: () => {
      if (projections.size > 0) return;
      const owner = ownerId();
      for (const d of definitions) {
        // The business counters follow the orders read model's commits: each event is counted once,
        // by the process holding that projection's lease (sum the counters over the processes).
        const onCommitted = d.name === 'orders' ? (_: string, e: RecordedEvent) => metrics.observeEvent(e) : undefined;
        projections.set(
          d.name,
          startProjection(d, { events: store, reads, owner, logger, now, leaseTtlMs: config.leaseTtlMs, ...(onCommitted && { onCommitted }) }),
        );
      }
      const { lanes } = config;
      worker = startOutboundWorker({
        ledger,
        reads,
        actions: {
          expire: expireAction({ ledger }),
          sms: smsAction({ ledger, sms: integrations.sms }),
          trade: tradeAction({
            ledger,
            platform: integrations.paymentPlatform,
            notifyUrl: `${config.publicBaseUrl}/v1/payment-notifications`,
            notCreatedGraceSeconds: config.paymentQueryAfterSeconds,
          }),
          query: queryAction({ ledger, platform: integrations.paymentPlatform }),
          refund: refundAction({ ledger, platform: integrations.paymentPlatform }),
          boss: bossAction({ ledger, boss: integrations.boss, reads, entitlementsCaughtUp: () => caughtUp('entitlements', 10_000) }),
          callback: callbackAction({ store, openPlatform: openPlatform || undefined }),
        },
        lanes: { ...lanes, timer: { concurrency: 8, timeoutMs: 10_000 } },
        breaker: { ...config.breaker, maxCooldownMs: config.breaker.cooldownMs * 8 },
        policy: config,
        owner,
        logger,
        leaseTtlMs: config.leaseTtlMs,
        onOutcome: metrics.observeOutbound,
      });
      privacy.start();
    },
    close: async () => {
      await built.close();
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

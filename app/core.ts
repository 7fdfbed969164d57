/**
 * The ledger without its HTTP server: the stores, what the deciders need, the partner integrations
 * and the read models' definitions, built from a Config once. `npm run rebuild` needs no more than
 * this; app/service.ts builds the service on it. Nothing here listens or starts a consumer.
 *
 * Kept apart from app/service.ts so that a process that only rebuilds never loads the HTTP server
 * (fastify, its plugins, the routes): ~27 MB of resident memory a rebuild would carry for nothing.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { oneTimeCodes } from '../commands/one-time-code.ts';
import type { LedgerDeps } from '../commands/deps.ts';
import { processReactor } from '../commands/process-reactor.ts';
import { msisdnSearchKey } from '../domain/msisdn.ts';
import { createIntegrations, type Integrations } from '../integrations/index.ts';
import { codeDelivered } from '../outbound/delivery.ts';
import { outboundQueueProjection } from '../outbound/queue.ts';
import { entitlementsProjection } from '../projections/entitlements.ts';
import { financeProjection } from '../projections/finance.ts';
import { journalProjection } from '../projections/journal.ts';
import { ordersProjection } from '../projections/orders.ts';
import type { Projection } from '../projections/projection.ts';
import { prepareProjections, type RunningProjection } from '../projections/runner.ts';
import { reached } from '../stores/event-store.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { ConfigError, type Config } from './config.ts';
import { createMetrics, timedAppends, type Metrics } from './metrics.ts';
import { composePrivacy, type Privacy } from './privacy.ts';
import { loadCatalog, loadSmsTemplates, packageVersion } from './project.ts';
import { codeSecretFor } from './secrets.ts';
import { openEventStore, openReadStore, privacyConfigOf } from './stores.ts';

export type Core = {
  ledger: LedgerDeps;
  reads: ReadStore;
  integrations: Integrations;
  metrics: Metrics;
  /** Every projection and reactor this ledger runs. */
  definitions: readonly Projection[];
  /** Closes the integrations, the key store and the stores (after whatever ran on them has stopped). */
  close(): Promise<void>;
};

/** What app/service.ts builds the service from, beside the Core. */
export type CoreParts = Core & {
  privacy: Privacy;
  smsTemplates: ReturnType<typeof loadSmsTemplates>;
  msisdnKey: (msisdn: string) => string;
  /** The consumers this process runs, by name: filled by whoever starts them (app/service.ts). */
  projections: Map<string, RunningProjection>;
  /** Resolves once the named read model holds everything recorded so far. */
  caughtUp: (name: string, timeoutMs: number) => Promise<void>;
};

/** Loads an operator-edited file; what is wrong with it is a configuration error. */
const operatorFile = <T>(load: () => T): T => {
  try {
    return load();
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
};

export const composeCore = async (config: Config, logger: Logger, now: () => Date = () => new Date()): Promise<CoreParts> => {
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

  return {
    ledger,
    reads,
    integrations,
    metrics,
    definitions,
    privacy,
    smsTemplates,
    msisdnKey,
    projections,
    caughtUp,
    close: async () => {
      integrations.close();
      await privacy.close();
      await rawStore.close();
      await reads.close();
    },
  };
};

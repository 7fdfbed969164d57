/**
 * The personal-data part of the composition root (docs/privacy.md): the key store (SQLite under
 * DATA_DIR, or MongoDB with MONGODB_URL), sealing and opening numbers, the subscribers read model and
 * the erasure reactor, the admin's erasure, and the retention task (PII_RETENTION_DAYS).
 * app/service.ts wires it in; nothing here reads the environment.
 */
import type { Logger } from 'pino';
import { eraseSubscriber, erasureReactor, erasureRecords, SubscriberFactsBehind, type Erasure } from '../commands/erase-subscriber.ts';
import type { CommandContext, CommandDeps } from '../commands/execute.ts';
import { createPersonalData } from '../commands/personal-data.ts';
import type { PersonalData } from '../domain/personal-data.ts';
import { RETENTION_ACTOR, startRetention, type RetentionTask } from '../commands/pii-retention.ts';
import type { ErasureReason } from '../domain/subscriber/subscriber.ts';
import type { Projection } from '../projections/projection.ts';
import { quietSince, subscriberFacts, subscribersProjection } from '../projections/subscribers.ts';
import type { EventStore } from '../stores/event-store.ts';
import type { KeyStore } from '../stores/key-store.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { openSqliteKeyStore } from '../stores/sqlite/key-store.ts';

export type PrivacyConfig = {
  mongodb: { url: string; database: string } | undefined;
  dataKeysFile: string;
  /** The first wraps, all unwrap. */
  dataKeySecrets: readonly string[];
  piiRetentionDays: number | undefined;
};

export type PrivacyDeps = {
  store: EventStore;
  reads: ReadStore;
  now: () => Date;
  logger: Logger;
  observe?: CommandDeps['observe'];
  /** Resolves once the named read model holds everything recorded so far. */
  caughtUp: (projection: string, timeoutMs: number) => Promise<void>;
};

export type Privacy = {
  personalData: PersonalData;
  /** The subscribers read model and the erasure reactor, to run with the others. */
  definitions: readonly Projection[];
  /** POST /v1/subscribers/{id}/erasure. */
  erase: (subscriberId: string, ctx: Omit<CommandContext, 'commandKey'>) => Promise<Erasure>;
  /** Starts the retention task, if configured (after the projections). */
  start(): void;
  /** Stops the retention task (after the erasure in hand) and closes the key store. */
  close(): Promise<void>;
};

/** The key store and what seals and opens numbers with it, for a log (`store`: whose erasures count). */
export const openPersonalData = async (
  config: Pick<PrivacyConfig, 'mongodb' | 'dataKeysFile' | 'dataKeySecrets'>,
  store: EventStore,
  now: () => Date,
): Promise<{ personalData: PersonalData; keys: KeyStore }> => {
  // The MongoDB client is loaded only when configured (app/stores.ts says why).
  const keys: KeyStore = config.mongodb
    ? await (await import('../stores/mongodb/key-store.ts')).openMongoKeyStore(config.mongodb.url, config.mongodb.database)
    : openSqliteKeyStore(config.dataKeysFile);
  return { keys, personalData: createPersonalData({ keys, masterSecrets: config.dataKeySecrets, erasures: erasureRecords(store), now }) };
};

export const composePrivacy = async (config: PrivacyConfig, deps: PrivacyDeps): Promise<Privacy> => {
  const { store, reads, now, logger, caughtUp } = deps;
  const { keys, personalData } = await openPersonalData(config, store, now);
  const erasure = {
    commands: { store, now, personalData, ...(deps.observe && { observe: deps.observe }) },
    facts: async (subscriberId: string) => {
      await caughtUp('subscribers', 10_000).catch((err: unknown) => {
        throw new SubscriberFactsBehind(err instanceof Error ? err.message : String(err));
      });
      return subscriberFacts(reads, subscriberId);
    },
  };
  const erase = (subscriberId: string, reason: ErasureReason, ctx: Omit<CommandContext, 'commandKey'>) => eraseSubscriber(erasure, subscriberId, reason, ctx);
  let retention: RetentionTask | undefined;
  return {
    personalData,
    definitions: [subscribersProjection(), erasureReactor(personalData)],
    erase: (subscriberId, ctx) => erase(subscriberId, 'request', ctx),
    start: () => {
      if (config.piiRetentionDays === undefined || retention) return;
      retention = startRetention({
        days: config.piiRetentionDays,
        now,
        // A first run right after a start waits for the read model to catch up with the whole log.
        quiet: async (cutoff, limit, cursor) => {
          await caughtUp('subscribers', 600_000);
          return quietSince(reads, cutoff, limit, cursor);
        },
        erase: (subscriberId) =>
          erase(subscriberId, 'retention', {
            correlationId: `pii-retention:${now().toISOString().slice(0, 10)}`,
            causationId: 'pii-retention',
            actor: RETENTION_ACTOR,
          }),
        logger,
      });
    },
    close: async () => {
      await retention?.stop();
      await keys.close();
    },
  };
};

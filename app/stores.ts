/**
 * Which stores run, from the configuration: embedded SQLite files under DATA_DIR, or EventStoreDB and MongoDB.
 *
 * The EventStoreDB and MongoDB adapters are imported only when configured: their clients are ~50 MB
 * of resident memory (measured: `@eventstore/db-client` 24 MB, `mongodb` 23 MB) that an embedded
 * deployment, and every rebuild or script run on one, would otherwise carry for nothing.
 */
import { join } from 'node:path';
import type { EventStore } from '../stores/event-store.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { openSqliteReadStore } from '../stores/sqlite/read-store.ts';
import type { Config } from './config.ts';
import type { PrivacyConfig } from './privacy.ts';
import { dataKeySecretsFor } from './secrets.ts';

/** Where the event log lives: the EventStoreDB server at EVENTSTORE_URL, else the embedded file DATA_DIR/events.db. */
export type EventStoreLocation = { kind: 'esdb'; url: string } | { kind: 'sqlite'; file: string };

/** The one rule for which event store runs; the service and the scripts both ask here. */
export const eventStoreLocation = (config: Pick<Config, 'eventstoreUrl' | 'dataDir'>): EventStoreLocation =>
  config.eventstoreUrl ? { kind: 'esdb', url: config.eventstoreUrl } : { kind: 'sqlite', file: join(config.dataDir, 'events.db') };

export const openEventStoreAt = async (where: EventStoreLocation): Promise<EventStore> =>
  where.kind === 'esdb' ? (await import('../stores/esdb/event-store.ts')).openEsdbEventStore(where.url) : openSqliteEventStore(where.file);

export const openEventStore = async (config: Pick<Config, 'eventstoreUrl' | 'dataDir'>): Promise<EventStore> => openEventStoreAt(eventStoreLocation(config));

/** The database named in a MongoDB connection string (`mongodb://host/<db>?…`), if any. */
const mongoDatabase = (url: string): string | undefined => /^mongodb(?:\+srv)?:\/\/[^/?]+\/([^?]+)/.exec(url)?.[1];

export const openReadStore = async (config: Pick<Config, 'mongodbUrl' | 'dataDir'>): Promise<ReadStore> =>
  config.mongodbUrl
    ? (await import('../stores/mongodb/read-store.ts')).openMongoReadStore(config.mongodbUrl, mongoDatabase(config.mongodbUrl) ?? 'tvpay_read')
    : openSqliteReadStore(join(config.dataDir, 'read.db'));

/** Where the data keys live and what wraps them (docs/privacy.md); also for the scripts that seal or re-wrap. */
export const privacyConfigOf = (config: Config): PrivacyConfig => ({
  mongodb: config.mongodbUrl ? { url: config.mongodbUrl, database: mongoDatabase(config.mongodbUrl) ?? 'tvpay_read' } : undefined,
  dataKeysFile: config.dataKeysFile,
  dataKeySecrets: dataKeySecretsFor(config),
  piiRetentionDays: config.piiRetentionDays,
});

/** The event store a script reads: the one the service uses, or a clear reason why it cannot be opened. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../app/config.ts';
import { openPersonalData } from '../app/privacy.ts';
import { DATA_KEY_SECRET_FILE } from '../app/secrets.ts';
import { eventStoreLocation, openEventStoreAt, privacyConfigOf } from '../app/stores.ts';
import type { PersonalData } from '../domain/personal-data.ts';
import type { EventStore } from '../stores/event-store.ts';
import type { KeyStore } from '../stores/key-store.ts';
import { unavailable } from './cli.ts';

/**
 * The event store the service uses (app/stores.ts: EVENTSTORE_URL, else DATA_DIR/events.db), opened read-ready.
 * A missing embedded store or an unreachable server is `unavailable` (69), never an empty log:
 * an audit of nothing must not pass.
 */
export const openLogStore = async (config: Config): Promise<EventStore> => {
  const where = eventStoreLocation(config);
  if (where.kind === 'sqlite') {
    // Opening would create an empty file: check first.
    requireEventStore(config);
    return openEventStoreAt(where);
  }
  const store = await openEventStoreAt(where);
  try {
    await store.headPosition();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw unavailable(`EventStoreDB at EVENTSTORE_URL is not reachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return store;
};

/** Fails with `unavailable` (69) when the embedded event store is not there: opening would create an empty one. */
export const requireEventStore = (config: Config): void => {
  const where = eventStoreLocation(config);
  if (where.kind === 'sqlite' && !existsSync(where.file)) throw unavailable(`no event store at ${where.file} (set DATA_DIR, or EVENTSTORE_URL)`);
};

/**
 * The key store the service uses, opened for a script that reads or rewraps keys, never makes them: an
 * embedded key store that is not there, or a master secret neither configured nor kept in DATA_DIR, is
 * `unavailable` (69). Opening either would create an empty one, and a script would then report on (or
 * rewrap) no keys at all as if that were every key.
 */
export const openExistingPersonalData = async (config: Config, store: EventStore): Promise<{ personalData: PersonalData; keys: KeyStore }> => {
  if (!config.mongodbUrl && !existsSync(config.dataKeysFile)) {
    throw unavailable(`no key store at ${config.dataKeysFile} (set DATA_KEYS_FILE or DATA_DIR, or MONGODB_URL)`);
  }
  if (!config.dataKeySecrets && !existsSync(join(config.dataDir, DATA_KEY_SECRET_FILE))) {
    throw unavailable(`no DATA_KEY_SECRET, and none kept in ${config.dataDir}: the data keys cannot be opened`);
  }
  return openPersonalData(privacyConfigOf(config), store, () => new Date());
};

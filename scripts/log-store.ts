/** The event store a script reads: the one the service uses, or a clear reason why it cannot be opened. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../app/config.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import type { EventStore } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { unavailable } from './cli.ts';

/**
 * The event store the service uses (EVENTSTORE_URL, else DATA_DIR/events.db), opened read-ready.
 * A missing embedded store or an unreachable server is `unavailable` (69), never an empty log:
 * an audit of nothing must not pass.
 */
export const openLogStore = async (config: Config): Promise<EventStore> => {
  if (!config.eventstoreUrl) {
    const file = join(config.dataDir, 'events.db');
    if (!existsSync(file)) throw unavailable(`no event store at ${file} (set DATA_DIR, or EVENTSTORE_URL)`);
    return openSqliteEventStore(file);
  }
  const store = await openEsdbEventStore(config.eventstoreUrl);
  try {
    await store.headPosition();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw unavailable(`EventStoreDB at EVENTSTORE_URL is not reachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return store;
};

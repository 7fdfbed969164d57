/** The event store a script reads: the one the service uses, or a clear reason why it cannot be opened. */
import { existsSync } from 'node:fs';
import type { Config } from '../app/config.ts';
import { eventStoreLocation, openEventStoreAt } from '../app/stores.ts';
import type { EventStore } from '../stores/event-store.ts';
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
    if (!existsSync(where.file)) throw unavailable(`no event store at ${where.file} (set DATA_DIR, or EVENTSTORE_URL)`);
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

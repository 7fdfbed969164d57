/**
 * A child process for the crash test: appends whole batches to the SQLite event store at
 * argv[2] as fast as it can, from 16 concurrent writers (so group commit is in play), and
 * prints each batch number on stdout once its append has resolved (i.e. is durable).
 * The test SIGKILLs it mid-run. Every event carries { batch, index, size } so the test can
 * tell a whole batch from a partial one.
 */
import { randomUUID } from 'node:crypto';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: event-store-writer.ts <db file>');

const store = await openSqliteEventStore(file);
const metadata = { correlationId: 'crash', causationId: 'crash', actor: { role: 'test', client: 'writer' }, schemaVersion: 1 };
let nextBatch = 0;

const writer = async (): Promise<never> => {
  for (;;) {
    const batch = nextBatch++;
    const size = 2 + (batch % 7);
    const events = Array.from({ length: size }, (_, index) => ({
      id: randomUUID(),
      type: 'Batched',
      data: { batch, index, size, pad: 'x'.repeat(2000) },
      metadata,
    }));
    await store.append(`crash-${batch % 5}`, events, 'any');
    process.stdout.write(`${batch}\n`);
  }
};

await Promise.all(Array.from({ length: 16 }, writer));

/**
 * The read store's commit thread: its own connection to the file, one commit at a time, in the order
 * the requests arrive (stores/sqlite/commit.ts). Started by stores/sqlite/read-store.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { commitOn, type CommitReply, type CommitRequest } from './commit.ts';
import { openConnection } from './connection.ts';

const { file } = workerData as { file: string };
const port = parentPort;
if (!port) throw new Error('commit-worker runs as a worker thread');
const db = openConnection(file);
const commit = commitOn(db);

port.on('message', (message: { id: number; request: CommitRequest } | { close: true }) => {
  if ('close' in message) {
    db.close();
    port.close();
    return;
  }
  const reply: CommitReply = { id: message.id };
  try {
    commit(message.request);
  } catch (err) {
    reply.error = err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
  }
  port.postMessage(reply);
});

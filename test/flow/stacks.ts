/**
 * The store stacks the flow tests run on: the embedded default, and the production
 * engines through their wire-level stand-ins (EventStoreDB over gRPC, MongoDB over
 * OP_MSG as a one-member replica set), each talked to by the real client libraries.
 * Each start gives fresh, empty stores.
 */
import { startEsdbStandIn } from '../support/esdb-standin/server.ts';
import { startMongoStandin } from '../support/mongo-standin/server.ts';

export type Stack = { name: string; start(): Promise<{ env: Record<string, string>; close(): Promise<void> }> };

export const stacks: Stack[] = [
  { name: 'SQLite events + SQLite read models', start: async () => ({ env: {}, close: async () => undefined }) },
  {
    name: 'EventStoreDB (stand-in) + SQLite read models',
    start: async () => {
      const esdb = await startEsdbStandIn({ batchAppend: true });
      return { env: { EVENTSTORE_URL: esdb.connectionString }, close: () => esdb.close() };
    },
  },
  {
    name: 'EventStoreDB (stand-in) + MongoDB replica set (stand-in)',
    start: async () => {
      const esdb = await startEsdbStandIn({ batchAppend: true });
      const mongo = await startMongoStandin({ replicaSet: true });
      return {
        env: { EVENTSTORE_URL: esdb.connectionString, MONGODB_URL: mongo.url },
        close: async () => {
          await mongo.close();
          await esdb.close();
        },
      };
    },
  },
];

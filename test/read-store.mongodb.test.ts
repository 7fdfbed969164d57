/**
 * The read store contract on MongoDB, through the real `mongodb` driver:
 * - against a real server when MONGODB_URL is set (a fresh database per test, dropped afterwards);
 * - always against the in-process wire-protocol stand-in (test/support/mongo-standin), once as a
 *   standalone (idempotent-by-revision path) and once as a replica set (transaction path).
 */
import { randomUUID } from 'node:crypto';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMongoReadStore } from '../stores/mongodb/read-store.ts';
import type { CommitPoint, Lease, ReadStore } from '../stores/read-store.ts';
import { readStoreContract } from './contracts/read-store.contract.ts';
import { startMongoStandin, type Standin } from './support/mongo-standin/server.ts';

const realUrl = process.env['MONGODB_URL'];

describe.skipIf(!realUrl)('mongodb read store on a real server (MONGODB_URL)', () => {
  readStoreContract('mongodb (real server)', async () => {
    const url = realUrl ?? '';
    const dbName = `tvpay_read_test_${randomUUID().slice(0, 8)}`;
    const store = await openMongoReadStore(url, dbName);
    return {
      store,
      async cleanup() {
        const client = new MongoClient(url);
        try {
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  });
});

const viaStandin = (replicaSet: boolean) => async () => {
  const standin = await startMongoStandin({ replicaSet });
  const store = await openMongoReadStore(standin.url, 'tvpay_read');
  return { store, cleanup: () => standin.close() };
};

readStoreContract('mongodb via stand-in, standalone (idempotent by revision)', viaStandin(false));
readStoreContract('mongodb via stand-in, replica set (transactions)', viaStandin(true));

const T0 = new Date('2030-01-01T00:00:00.000Z');
const point = (n: number, streamId: string, revision: number): CommitPoint => ({ position: { commit: BigInt(n), prepare: BigInt(n) }, streamId, revision });

describe.each([
  { mode: 'standalone', replicaSet: false },
  { mode: 'replica set', replicaSet: true },
])('mongodb adapter specifics via stand-in ($mode)', ({ replicaSet }) => {
  let standin: Standin;
  let store: ReadStore;
  let admin: MongoClient;
  let lease: Lease;

  beforeEach(async () => {
    standin = await startMongoStandin({ replicaSet });
    store = await openMongoReadStore(standin.url, 'tvpay_read');
    admin = new MongoClient(standin.url);
    await store.ensureCollections([{ name: 'orders', indexes: ['status'] }]);
    const l = await store.acquireLease('orders-view', 'worker-a', 30_000, T0);
    if (!l) throw new Error('no lease');
    lease = l;
  });
  afterEach(async () => {
    await store.close();
    await admin.close();
    await standin.close();
  });

  const failNext = (commandName: string, namespace: string, times: number, errorCode = 8, errorLabels: string[] = []) =>
    admin.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times },
      data: { failCommands: [commandName], namespace, errorCode, errorLabels },
    });

  it('creates a (field, _id) index per declared field', async () => {
    const idx = await admin.db('tvpay_read').collection('orders').listIndexes().toArray();
    expect(idx.map((i) => i['key'])).toContainEqual({ 'd.status': 1, _id: 1 });
  });

  it(replicaSet ? 'commits through a transaction' : 'commits without transactions', async () => {
    await store.commit(lease, point(1, 'order-1', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'a' } }]);
    expect(standin.commands.includes('commitTransaction')).toBe(replicaSet);
    expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'a' });
  });

  it('strips internal fields from returned documents', async () => {
    await store.commit(lease, point(1, 'order-1', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'a' } }]);
    const page = await store.find('orders', { orderBy: { field: 'status', direction: 'asc' }, limit: 5 });
    expect(page.items).toEqual([{ id: 'o1', status: 'a' }]);
    const raw = await admin.db('tvpay_read').collection('orders').findOne({});
    expect(raw?.['_id']).toBe('o1');
  });

  if (replicaSet) {
    it('a failure inside the transaction leaves neither writes nor checkpoint', async () => {
      await failNext('update', 'tvpay_read.checkpoints', 1);
      await expect(
        store.commit(lease, point(1, 'order-1', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'a' } }]),
      ).rejects.toBeInstanceOf(MongoServerError);
      expect(await store.get('orders', 'o1')).toBeNull();
      expect(await store.checkpoint('orders-view')).toBeNull();
    });

    it('retries the whole transaction on a transient write conflict, applying it once', async () => {
      await failNext('update', 'tvpay_read.orders', 1, 112, ['TransientTransactionError']);
      await store.commit(lease, point(1, 'order-1', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'a' } }]);
      expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'a' });
      expect(standin.commands.filter((c) => c === 'commitTransaction')).toHaveLength(1);
    });
  } else {
    it('refuses transactions like a real standalone', async () => {
      const session = admin.startSession();
      try {
        const attempt = session.withTransaction(async () => {
          await admin.db('tvpay_read').collection<{ _id: string }>('orders').insertOne({ _id: 'x' }, { session });
        });
        // the server answers IllegalOperation (20); the driver turns it into its retryWrites hint, as with a real standalone
        await expect(attempt).rejects.toThrow(/does not support retryable writes/);
        expect(await store.get('orders', 'x')).toBeNull();
      } finally {
        await session.endSession();
      }
    });

    it('a crash between the writes and the checkpoint is repaired by replay, without resurrecting deletes', async () => {
      // the checkpoint update fails twice, as if the process died after its writes
      await failNext('update', 'tvpay_read.checkpoints', 2);
      const v1 = { kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'a' } } as const;
      const gone = { kind: 'delete', collection: 'orders', id: 'o1' } as const;
      await expect(store.commit(lease, point(1, 'order-1', 0), [v1])).rejects.toBeInstanceOf(MongoServerError);
      await expect(store.commit(lease, point(2, 'order-1', 1), [gone])).rejects.toBeInstanceOf(MongoServerError);
      expect(await store.checkpoint('orders-view')).toBeNull();
      expect(await store.get('orders', 'o1')).toBeNull();
      // the restarted consumer replays from the (missing) checkpoint
      await store.commit(lease, point(1, 'order-1', 0), [v1]);
      expect(await store.get('orders', 'o1')).toBeNull();
      await store.commit(lease, point(2, 'order-1', 1), [gone]);
      expect(await store.get('orders', 'o1')).toBeNull();
      expect(await store.checkpoint('orders-view')).toEqual({ commit: 2n, prepare: 2n });
      // another stream's events are tracked separately and still apply
      await store.commit(lease, point(3, 'payment-1', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', status: 'refunded' } }]);
      expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'refunded' });
    });

    it('never moves the checkpoint back', async () => {
      await store.commit(lease, point(5, 'order-1', 0), []);
      await store.commit(lease, point(3, 'order-2', 0), [{ kind: 'upsert', collection: 'orders', doc: { id: 'o2', status: 'late' } }]);
      expect(await store.checkpoint('orders-view')).toEqual({ commit: 5n, prepare: 5n });
      expect(await store.get('orders', 'o2')).toBeNull();
    });
  }
});

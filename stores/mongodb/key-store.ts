/**
 * The MongoDB key store: collection `data_keys` in the read-model database, one document per
 * subscriber `{ _id: subscriberId, kid, wrapped, wrappedBy, createdAt }`, written with majority
 * write concern (a key must outlive any event sealed with it). The event log is elsewhere
 * (EventStoreDB), so destroying a document here erases what its key sealed.
 *
 * What MongoDB keeps of a deleted document (the oplog, WiredTiger's free space, backups) is the
 * deployment's business: docs/privacy.md, threat notes.
 */
import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import type { KeyStore, StoredKey } from '../key-store.ts';

type KeyDoc = { _id: string; kid: string; wrapped: string; wrappedBy: string; createdAt: string };

const DUPLICATE_KEY = 11000;

const keyOf = (d: KeyDoc): StoredKey => ({ subscriberId: d._id, kid: d.kid, wrapped: d.wrapped, wrappedBy: d.wrappedBy, createdAt: d.createdAt });

export async function openMongoKeyStore(url: string, dbName: string): Promise<KeyStore> {
  const client = new MongoClient(url, { appName: 'tvpay-ledger-key-store' });
  await client.connect();
  const keys: Collection<KeyDoc> = client.db(dbName).collection<KeyDoc>('data_keys', { writeConcern: { w: 'majority', journal: true } });
  return {
    async get(subscriberId) {
      const d = await keys.findOne({ _id: subscriberId });
      return d ? keyOf(d) : null;
    },
    async create(key) {
      try {
        await keys.insertOne({ _id: key.subscriberId, kid: key.kid, wrapped: key.wrapped, wrappedBy: key.wrappedBy, createdAt: key.createdAt });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      }
      const stored = await keys.findOne({ _id: key.subscriberId });
      if (!stored) throw new Error(`key store: the key of ${key.subscriberId} vanished right after it was created`);
      return keyOf(stored);
    },
    async destroy(subscriberId, kid) {
      return (await keys.deleteOne({ _id: subscriberId, kid })).deletedCount > 0;
    },
    async rewrap(key, wrapped, wrappedBy) {
      const r = await keys.updateOne({ _id: key.subscriberId, kid: key.kid, wrapped: key.wrapped }, { $set: { wrapped, wrappedBy } });
      return r.modifiedCount > 0;
    },
    async wrappedByOthers(wrappedBy, limit) {
      return (
        await keys
          .find({ wrappedBy: { $ne: wrappedBy } })
          .sort({ _id: 1 })
          .limit(limit)
          .toArray()
      ).map(keyOf);
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * The key store contract on every adapter: SQLite (the embedded default) and MongoDB through the
 * real driver against the wire-level stand-in (standalone and replica set), or a real server when
 * MONGODB_URL is set. And what the SQLite file keeps of a destroyed key: nothing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMongoKeyStore } from '../stores/mongodb/key-store.ts';
import { openSqliteKeyStore } from '../stores/sqlite/key-store.ts';
import { keyStoreContract } from './contracts/key-store.contract.ts';
import { startMongoStandin } from './support/mongo-standin/server.ts';

const tempDir = () => mkdtemp(join(tmpdir(), 'tvpay-keys-'));

keyStoreContract('sqlite', async () => {
  const dir = await tempDir();
  return { store: openSqliteKeyStore(join(dir, 'keys.db')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

for (const replicaSet of [false, true]) {
  keyStoreContract(`mongodb via stand-in, ${replicaSet ? 'replica set' : 'standalone'}`, async () => {
    const standin = await startMongoStandin({ replicaSet });
    return { store: await openMongoKeyStore(standin.url, 'tvpay_read'), cleanup: () => standin.close() };
  });
}

const realUrl = process.env['MONGODB_URL'];
describe.skipIf(!realUrl)('mongodb key store on a real server (MONGODB_URL)', () => {
  keyStoreContract('mongodb (real server)', async () => {
    const url = realUrl ?? '';
    const db = `tvpay_keys_test_${randomUUID().slice(0, 8)}`;
    return {
      store: await openMongoKeyStore(url, db),
      cleanup: async () => {
        const client = new MongoClient(url);
        try {
          await client.db(db).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  });
});

describe('sqlite key store specifics', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir();
    file = join(dir, 'keys.db');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const key = (subscriberId: string, kid: string, wrapped = `w-${kid}`) => ({
    subscriberId,
    kid,
    wrapped,
    wrappedBy: 'mk-a',
    createdAt: '2026-11-25T08:00:00.000Z',
  });

  it('keys created at once are committed together: each caller gets its key, a second create of one subscriber gets the first key, and all survive a reopen', async () => {
    const store = openSqliteKeyStore(file);
    const created = await Promise.all([key('sub-a', 'ka'), key('sub-b', 'kb'), key('sub-a', 'ka2'), key('sub-c', 'kc')].map((k) => store.create(k)));
    expect(created.map((k) => `${k.subscriberId}/${k.kid}`)).toEqual(['sub-a/ka', 'sub-b/kb', 'sub-a/ka', 'sub-c/kc']);
    await store.close();
    const reopened = openSqliteKeyStore(file);
    expect((await Promise.all(['sub-a', 'sub-b', 'sub-c'].map((s) => reopened.get(s)))).map((k) => k?.kid)).toEqual(['ka', 'kb', 'kc']);
    await reopened.close();
  });

  it('a create the store cannot write is refused, to every caller of that commit, and nothing is kept', async () => {
    const store = openSqliteKeyStore(file);
    await store.close();
    const results = await Promise.allSettled([store.create(key('s1', 'k1')), store.create(key('s2', 'k2'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const reopened = openSqliteKeyStore(file);
    expect(await reopened.get('s1')).toBeNull();
    await reopened.close();
  });

  it('a destroyed key is in no file of the store any more: not the database, not the WAL', async () => {
    const store = openSqliteKeyStore(file);
    const secret = `wrapped-${randomUUID()}-${randomUUID()}`;
    await store.create(key('sub-1', 'k1', secret));
    for (let i = 0; i < 20; i++) await store.create(key(`other-${i}`, `k-${i}`, `wrapped-${i}`));
    const holding = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const name of await readdir(dir)) if ((await readFile(join(dir, name))).includes(secret)) found.push(name);
      return found;
    };
    expect(await holding()).not.toEqual([]);
    expect(await store.destroy('sub-1', 'k1')).toBe(true);
    expect(await holding()).toEqual([]);
    expect(await store.get('other-3')).not.toBeNull();
    await store.close();
    expect(await holding()).toEqual([]);
  });
});

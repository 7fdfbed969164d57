/**
 * Erasure on every store stack: the embedded default, EventStoreDB with SQLite read models and key
 * store, and EventStoreDB with MongoDB read models and key store (data_keys), through the wire-level
 * stand-ins and the real client libraries.
 */
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { caughtUp } from '../flow/support.ts';
import { stacks } from '../flow/stacks.ts';
import { ledgerPerTest } from '../support/ledger-per-test.ts';
import { TOKENS } from '../support/fixtures.ts';
import { eraseAs, household, numbersIn, OTHER_PHONE, PHONE, search } from './support.ts';

describe.each(stacks)('erasure on $name', (stack) => {
  const ledger = ledgerPerTest(stack, { RETRY_BASE_MS: '5' });

  it('the key is destroyed where the keys live; history and search say erased; the other subscriber is whole', async () => {
    const t = ledger();
    const { paid, other } = await household(t);
    const mongoUrl = t.env.MONGODB_URL;
    const keyDocs = async (): Promise<string[]> => {
      if (!mongoUrl) return [];
      const client = new MongoClient(mongoUrl);
      try {
        return (await client.db('tvpay_read').collection<{ _id: string }>('data_keys').find({}).toArray()).map((d) => d._id).sort();
      } finally {
        await client.close();
      }
    };
    if (mongoUrl) expect(await keyDocs()).toEqual(['sub-1001', 'sub-2002']);
    expect((await eraseAs(t, TOKENS.admin, 'sub-1001')).json()).toMatchObject({ status: 'erased', keysDestroyed: 1 });
    await caughtUp(t);
    if (mongoUrl) expect(await keyDocs()).toEqual(['sub-2002']);
    expect(await numbersIn(t, paid.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
    expect(await search(t, `msisdn=${PHONE}`)).toEqual([]);
    expect(await numbersIn(t, other.orderId)).toEqual(['OrderPlaced:8613900139000', 'PaymentRequested:8613900139000']);
    expect((await search(t, `msisdn=${OTHER_PHONE}`)).map((o) => o.orderId)).toEqual([other.orderId]);
  });
});

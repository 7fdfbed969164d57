/**
 * The read store contract: every adapter (stores/sqlite, stores/mongodb) runs these cases.
 * Time is passed in (`now`), so lease expiry is tested without sleeping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Position } from '../../stores/event-store.ts';
import { InvalidQuery, LeaseLost, type CommitPoint, type Doc, type Lease, type Query, type ReadStore, type WriteOp } from '../../stores/read-store.ts';

export type OpenReadStore = () => Promise<{ store: ReadStore; cleanup(): Promise<void> }>;

const T0 = new Date('2030-01-01T00:00:00.000Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);
const TTL = 30_000;

const pos = (n: number | bigint, prepare?: bigint): Position => ({ commit: BigInt(n), prepare: prepare ?? BigInt(n) });
const at = (n: number, streamId = 'order-1', revision = n): CommitPoint => ({ position: pos(n), streamId, revision });
const upsert = (collection: string, doc: Doc): WriteOp => ({ kind: 'upsert', collection, doc });
const del = (collection: string, id: string): WriteOp => ({ kind: 'delete', collection, id });

const SPECS = [
  { name: 'orders', indexes: ['status', 'placedAt', 'amount', 'smartcardId', 'paid'] },
  { name: 'cards', indexes: ['validUntil'] },
] as const;

/** Collects every page of a query, checking each page respects the limit. */
async function allPages(store: ReadStore, collection: string, query: Query): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.find(collection, { ...query, ...(cursor !== undefined ? { cursor } : {}) });
    pages += 1;
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    ids.push(...page.items.map((d) => d.id));
    if (page.nextCursor === null) return { ids, pages };
    cursor = page.nextCursor;
    if (pages > 1000) throw new Error('pagination does not end');
  }
}

export function readStoreContract(name: string, open: OpenReadStore): void {
  describe(`read store contract: ${name}`, () => {
    let store: ReadStore;
    let cleanup: () => Promise<void>;
    let lease: Lease;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      await store.ensureCollections(SPECS);
      const l = await store.acquireLease('orders-view', 'worker-a', TTL, T0);
      if (!l) throw new Error('could not acquire a free lease');
      lease = l;
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    describe('collections', () => {
      it('ensureCollections is safe to call again', async () => {
        await store.ensureCollections(SPECS);
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'paid' })]);
        await store.ensureCollections(SPECS);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'paid' });
      });

      it('takes compound indexes over declared fields, and refuses one naming an undeclared field', async () => {
        await store.ensureCollections([{ name: 'entries', indexes: ['day', 'at'], compound: [['day', 'at']] }]);
        await store.commit(lease, at(1), [
          upsert('entries', { id: 'e2', day: 'd1', at: '2' }),
          upsert('entries', { id: 'e1', day: 'd1', at: '1' }),
          upsert('entries', { id: 'e3', day: 'd2', at: '0' }),
        ]);
        const page = await store.find('entries', { where: { day: 'd1' }, orderBy: { field: 'at', direction: 'asc' }, limit: 5 });
        expect(page.items.map((d) => d.id)).toEqual(['e1', 'e2']);
        await expect(store.ensureCollections([{ name: 'bad', indexes: ['day'], compound: [['day', 'at']] }])).rejects.toBeInstanceOf(InvalidQuery);
      });

      it('refuses names that are not identifiers or are reserved, and unknown collections', async () => {
        await expect(store.ensureCollections([{ name: 'orders"; DROP TABLE x; --', indexes: [] }])).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.ensureCollections([{ name: 'leases', indexes: [] }])).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.ensureCollections([{ name: 'ok', indexes: ["a') --"] }])).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.get('nope', 'x')).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('nope', { orderBy: { field: 'status', direction: 'asc' }, limit: 1 })).rejects.toBeInstanceOf(InvalidQuery);
      });
    });

    describe('documents and checkpoint', () => {
      it('upserts, replaces whole documents, deletes, and reads a missing id as null', async () => {
        expect(await store.get('orders', 'o1')).toBeNull();
        const doc = { id: 'o1', status: 'awaiting', amount: { value: 1500, currency: 'CNY' }, tags: ['a', 'b'], note: null };
        await store.commit(lease, at(1), [upsert('orders', doc)]);
        expect(await store.get('orders', 'o1')).toEqual(doc);
        await store.commit(lease, at(2), [upsert('orders', { id: 'o1', status: 'paid' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'paid' });
        await store.commit(lease, at(3), [del('orders', 'o1'), del('orders', 'never-existed')]);
        expect(await store.get('orders', 'o1')).toBeNull();
        expect(await store.checkpoint('orders-view')).toEqual(pos(3));
      });

      it('keeps the last write when one commit touches a document twice', async () => {
        await store.commit(lease, at(1), [
          upsert('orders', { id: 'o1', status: 'a' }),
          upsert('orders', { id: 'o1', status: 'b' }),
          upsert('orders', { id: 'o2', status: 'a' }),
          del('orders', 'o2'),
        ]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'b' });
        expect(await store.get('orders', 'o2')).toBeNull();
      });

      it('stores the checkpoint per projection, with full 64-bit positions', async () => {
        expect(await store.checkpoint('orders-view')).toBeNull();
        const big: Position = { commit: 18446744073709551615n, prepare: 18446744073709551614n };
        await store.commit(lease, { position: big, streamId: 'order-1', revision: 0 }, []);
        expect(await store.checkpoint('orders-view')).toEqual(big);
        expect(await store.checkpoint('other-view')).toBeNull();
      });

      it('orders positions numerically, not as text', async () => {
        await store.commit(lease, { position: pos(9), streamId: 's', revision: 0 }, [upsert('orders', { id: 'o1', status: 'a' })]);
        await store.commit(lease, { position: pos(10), streamId: 's', revision: 1 }, [upsert('orders', { id: 'o1', status: 'b' })]);
        expect(await store.checkpoint('orders-view')).toEqual(pos(10));
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'b' });
      });

      it('refuses a write to an unknown collection and changes nothing', async () => {
        await expect(store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' }), upsert('nope', { id: 'x' })])).rejects.toBeInstanceOf(
          InvalidQuery,
        );
        expect(await store.get('orders', 'o1')).toBeNull();
        expect(await store.checkpoint('orders-view')).toBeNull();
      });

      it('replaying a commit point changes nothing, even after later events', async () => {
        const v1 = upsert('orders', { id: 'o1', status: 'awaiting' });
        const v2 = upsert('orders', { id: 'o1', status: 'paid' });
        await store.commit(lease, at(1, 'order-1', 0), [v1]);
        await store.commit(lease, at(2, 'order-1', 1), [v2]);
        await store.commit(lease, at(3, 'order-1', 2), [del('orders', 'o1')]);
        // a consumer restarted from an older place re-delivers the same events
        await store.commit(lease, at(1, 'order-1', 0), [v1]);
        await store.commit(lease, at(2, 'order-1', 1), [v2]);
        expect(await store.get('orders', 'o1')).toBeNull();
        expect(await store.checkpoint('orders-view')).toEqual(pos(3));
        await store.commit(lease, at(4, 'order-1', 3), [upsert('orders', { id: 'o1', status: 'again' })]);
        await store.commit(lease, at(4, 'order-1', 3), [upsert('orders', { id: 'o1', status: 'again' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'again' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(4));
      });
    });

    describe('queries', () => {
      const seed = async (): Promise<void> => {
        await store.commit(lease, at(1), [
          upsert('orders', { id: 'o3', status: 'paid', amount: 300, placedAt: '2030-01-03', smartcardId: 'c1', paid: true }),
          upsert('orders', { id: 'o1', status: 'paid', amount: 100, placedAt: '2030-01-01', smartcardId: 'c2', paid: true }),
          upsert('orders', { id: 'o2', status: 'cancelled', amount: 200, placedAt: '2030-01-02', smartcardId: 'c1', paid: false }),
          upsert('orders', { id: 'o5', status: 'paid', amount: 100, placedAt: '2030-01-05', smartcardId: 'c1', paid: true }),
          upsert('orders', { id: 'o4', status: 'awaiting', amount: 100, placedAt: '2030-01-04', paid: false, smartcardId: null }),
          upsert('orders', { id: 'o6', status: 'awaiting', amount: 50, placedAt: '2030-01-06' }),
        ]);
      };
      const ids = (items: Doc[]): string[] => items.map((d) => d.id);

      it('filters by equality on one or more indexed fields, including booleans and null', async () => {
        await seed();
        const byId = { field: 'placedAt', direction: 'asc' } as const;
        expect(ids((await store.find('orders', { where: { status: 'paid' }, orderBy: byId, limit: 10 })).items)).toEqual(['o1', 'o3', 'o5']);
        expect(ids((await store.find('orders', { where: { status: 'paid', smartcardId: 'c1' }, orderBy: byId, limit: 10 })).items)).toEqual(['o3', 'o5']);
        expect(ids((await store.find('orders', { where: { paid: false }, orderBy: byId, limit: 10 })).items)).toEqual(['o2', 'o4']);
        // null matches an explicit null and a missing field
        expect(ids((await store.find('orders', { where: { smartcardId: null }, orderBy: byId, limit: 10 })).items)).toEqual(['o4', 'o6']);
        expect((await store.find('orders', { where: { status: 'refunded' }, orderBy: byId, limit: 10 })).items).toEqual([]);
        // a number does not equal its text
        expect((await store.find('orders', { where: { amount: '100' }, orderBy: byId, limit: 10 })).items).toEqual([]);
      });

      it('filters by a half-open range on strings and numbers', async () => {
        await seed();
        const asc = { field: 'placedAt', direction: 'asc' } as const;
        expect(ids((await store.find('orders', { range: { field: 'placedAt', gte: '2030-01-02', lt: '2030-01-05' }, orderBy: asc, limit: 10 })).items)).toEqual(
          ['o2', 'o3', 'o4'],
        );
        expect(ids((await store.find('orders', { range: { field: 'placedAt', gte: '2030-01-05' }, orderBy: asc, limit: 10 })).items)).toEqual(['o5', 'o6']);
        expect(ids((await store.find('orders', { range: { field: 'amount', lt: 100 }, orderBy: asc, limit: 10 })).items)).toEqual(['o6']);
        expect(
          ids(
            (
              await store.find('orders', {
                where: { status: 'paid' },
                range: { field: 'amount', gte: 100, lt: 300 },
                orderBy: { field: 'placedAt', direction: 'desc' },
                limit: 10,
              })
            ).items,
          ),
        ).toEqual(['o5', 'o1']);
      });

      it('sorts ascending and descending with ties broken by id in the same direction', async () => {
        await seed();
        expect(ids((await store.find('orders', { orderBy: { field: 'amount', direction: 'asc' }, limit: 10 })).items)).toEqual([
          'o6',
          'o1',
          'o4',
          'o5',
          'o2',
          'o3',
        ]);
        expect(ids((await store.find('orders', { orderBy: { field: 'amount', direction: 'desc' }, limit: 10 })).items)).toEqual([
          'o3',
          'o2',
          'o5',
          'o4',
          'o1',
          'o6',
        ]);
        // null and missing sort first ascending, last descending, like in MongoDB
        expect(ids((await store.find('orders', { orderBy: { field: 'smartcardId', direction: 'asc' }, limit: 10 })).items)).toEqual([
          'o4',
          'o6',
          'o2',
          'o3',
          'o5',
          'o1',
        ]);
        expect(ids((await store.find('orders', { orderBy: { field: 'smartcardId', direction: 'desc' }, limit: 10 })).items)).toEqual([
          'o1',
          'o5',
          'o3',
          'o2',
          'o6',
          'o4',
        ]);
      });

      it('pages through 250 documents in pages of 50, each exactly once, in order, both directions', async () => {
        const docs: Doc[] = [];
        // ids inserted out of order; amount has many ties; every 10th doc has no amount (null group)
        for (let i = 0; i < 250; i += 1) {
          const n = (i * 97) % 250;
          const id = `o${String(n).padStart(3, '0')}`;
          docs.push(n % 10 === 0 ? { id, status: 'paid' } : { id, status: n % 2 ? 'paid' : 'awaiting', amount: n % 7 });
        }
        await store.commit(
          lease,
          at(1),
          docs.map((d) => upsert('orders', d)),
        );
        const key = (d: Doc): [number, string] => [typeof d.amount === 'number' ? d.amount : -1, d.id];
        const cmp = (a: Doc, b: Doc): number => {
          const [x, i] = key(a);
          const [y, j] = key(b);
          return x - y || (i < j ? -1 : i > j ? 1 : 0);
        };
        const expectedAsc = [...docs].sort(cmp).map((d) => d.id);

        const asc = await allPages(store, 'orders', { orderBy: { field: 'amount', direction: 'asc' }, limit: 50 });
        expect(asc.pages).toBe(5);
        expect(asc.ids).toEqual(expectedAsc);
        const desc = await allPages(store, 'orders', { orderBy: { field: 'amount', direction: 'desc' }, limit: 50 });
        expect(desc.ids).toEqual([...expectedAsc].reverse());
        // odd page size that splits tie groups and the null group, with a filter
        const paid = await allPages(store, 'orders', { where: { status: 'paid' }, orderBy: { field: 'amount', direction: 'asc' }, limit: 7 });
        expect(paid.ids).toEqual(
          [...docs]
            .filter((d) => d.status === 'paid')
            .sort(cmp)
            .map((d) => d.id),
        );
        expect(new Set(paid.ids).size).toBe(paid.ids.length);
      });

      it('answers an exactly full last page with no next cursor, and an empty result with none', async () => {
        await seed();
        const page = await store.find('orders', { orderBy: { field: 'placedAt', direction: 'asc' }, limit: 6 });
        expect(page.items).toHaveLength(6);
        expect(page.nextCursor).toBeNull();
        expect(await store.find('cards', { orderBy: { field: 'validUntil', direction: 'asc' }, limit: 1 })).toEqual({ items: [], nextCursor: null });
      });

      it('refuses unindexed fields, bad limits and cursors that are not from the same query', async () => {
        await seed();
        const ok: Query = { orderBy: { field: 'amount', direction: 'asc' }, limit: 2 };
        await expect(store.find('orders', { ...ok, where: { note: 'x' } })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, orderBy: { field: 'note', direction: 'asc' } })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, range: { field: 'note', gte: 1 } })).rejects.toBeInstanceOf(InvalidQuery);
        for (const limit of [0, 1001, 1.5]) await expect(store.find('orders', { ...ok, limit })).rejects.toBeInstanceOf(InvalidQuery);
        const first = await store.find('orders', ok);
        expect(first.nextCursor).not.toBeNull();
        const cursor = first.nextCursor ?? '';
        await expect(store.find('orders', { ...ok, cursor: 'not a cursor!' })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, cursor: Buffer.from('{"a":1}').toString('base64url') })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, cursor: cursor.slice(0, -3) })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, where: { status: 'paid' }, cursor })).rejects.toBeInstanceOf(InvalidQuery);
        await expect(store.find('orders', { ...ok, orderBy: { field: 'amount', direction: 'desc' }, cursor })).rejects.toBeInstanceOf(InvalidQuery);
        // same query with another page size is fine
        expect((await store.find('orders', { ...ok, limit: 10, cursor })).items).toHaveLength(4);
      });
    });

    describe('leases and fencing', () => {
      it('grants a free lease, renews it with the same token, refuses another owner while it is valid', async () => {
        expect(lease).toMatchObject({ projection: 'orders-view', version: 1, owner: 'worker-a', token: 1 });
        expect(lease.expiresAt.getTime()).toBe(T0.getTime() + TTL);
        const renewed = await store.acquireLease('orders-view', 'worker-a', TTL, later(10_000));
        expect(renewed).toMatchObject({ owner: 'worker-a', token: 1 });
        expect(renewed?.expiresAt.getTime()).toBe(T0.getTime() + 10_000 + TTL);
        expect(await store.acquireLease('orders-view', 'worker-b', TTL, later(20_000))).toBeNull();
        // leases are per projection
        expect(await store.acquireLease('cards-view', 'worker-b', TTL, later(20_000))).toMatchObject({ owner: 'worker-b', token: 1 });
      });

      it('lets another owner take over after expiry with a higher token, and fences the old owner off', async () => {
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' })]);
        const b = await store.acquireLease('orders-view', 'worker-b', TTL, later(TTL));
        expect(b).toMatchObject({ owner: 'worker-b', token: 2 });
        if (!b) throw new Error('takeover refused');
        // the paused worker wakes up: its commit is refused and writes nothing, checkpoint included
        const stale = store.commit(lease, at(2), [upsert('orders', { id: 'o1', status: 'stale' }), upsert('orders', { id: 'o9', status: 'stale' })]);
        await expect(stale).rejects.toBeInstanceOf(LeaseLost);
        await expect(store.reset(lease, ['orders'])).rejects.toBeInstanceOf(LeaseLost);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'a' });
        expect(await store.get('orders', 'o9')).toBeNull();
        expect(await store.checkpoint('orders-view')).toEqual(pos(1));
        // its renewal is refused too; the new owner commits
        expect(await store.acquireLease('orders-view', 'worker-a', TTL, later(TTL + 1))).toBeNull();
        await store.commit(b, at(2), [upsert('orders', { id: 'o1', status: 'b' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'b' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
      });

      it('fences by token, not by clock: an expired lease nobody took over still commits', async () => {
        const renewed = await store.acquireLease('orders-view', 'worker-a', TTL, later(5 * TTL));
        expect(renewed?.token).toBe(1);
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' })]);
        expect(await store.checkpoint('orders-view')).toEqual(pos(1));
      });

      it('refuses a lease it never granted', async () => {
        const forged: Lease = { projection: 'orders-view', version: 1, owner: 'worker-a', token: 7, expiresAt: later(TTL) };
        await expect(store.commit(forged, at(1), [])).rejects.toBeInstanceOf(LeaseLost);
        const otherProjection: Lease = { ...lease, projection: 'never-leased' };
        await expect(store.commit(otherProjection, at(1), [upsert('orders', { id: 'o1' })])).rejects.toBeInstanceOf(LeaseLost);
        expect(await store.get('orders', 'o1')).toBeNull();
      });

      it('release frees the lease at once and keeps tokens growing', async () => {
        await store.releaseLease(lease);
        await expect(store.commit(lease, at(1), [])).rejects.toBeInstanceOf(LeaseLost);
        const b = await store.acquireLease('orders-view', 'worker-b', TTL, later(1));
        expect(b?.token).toBe(2);
        if (!b) throw new Error('release did not free the lease');
        await store.releaseLease(lease); // a stale release does not free b's lease
        expect(await store.acquireLease('orders-view', 'worker-c', TTL, later(2))).toBeNull();
        await store.releaseLease(b);
        expect((await store.acquireLease('orders-view', 'worker-a', TTL, later(3)))?.token).toBe(3);
      });
    });

    describe('reset', () => {
      it('empties the named collections and forgets the checkpoint, so a rebuild replays from the start', async () => {
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' }), upsert('cards', { id: 'c1', validUntil: '2030-02-01' })]);
        await store.commit(lease, at(2), [del('orders', 'o1'), upsert('orders', { id: 'o2', status: 'b' })]);
        await store.reset(lease, ['orders']);
        expect(await store.checkpoint('orders-view')).toBeNull();
        expect(await store.get('orders', 'o2')).toBeNull();
        expect(await store.get('cards', 'c1')).toEqual({ id: 'c1', validUntil: '2030-02-01' });
        expect((await store.find('orders', { orderBy: { field: 'status', direction: 'asc' }, limit: 10 })).items).toEqual([]);
        // the same events again are applied this time
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'a' });
        await store.commit(lease, at(2), [del('orders', 'o1'), upsert('orders', { id: 'o2', status: 'b' })]);
        expect(await store.get('orders', 'o1')).toBeNull();
        expect(await store.get('orders', 'o2')).toEqual({ id: 'o2', status: 'b' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
      });
    });

    describe('batches: many events in one commit', () => {
      it("applies a batch's writes and moves the checkpoint to its last event, together", async () => {
        // Events 1..4 of two orders, coalesced the way a runner's batch hands them over.
        await store.commit(lease, at(4, 'order-2', 1), [
          upsert('orders', { id: 'o1', status: 'paid' }),
          upsert('orders', { id: 'o2', status: 'cancelled' }),
          upsert('cards', { id: 'c1', validUntil: '2030-02-01' }),
        ]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'paid' });
        expect(await store.get('cards', 'c1')).toEqual({ id: 'c1', validUntil: '2030-02-01' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(4));
      });

      it('a batch that fails part-way leaves neither its writes nor its checkpoint (where commits are atomic)', async () => {
        if (!store.atomicCommit) return; // one event per commit there: each write idempotent by revision instead
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'a' })]);
        // The second document cannot be serialised: the failure comes after the first write has been issued.
        const unserialisable: Doc = { id: 'o3', status: 'x', n: 1n };
        await expect(
          store.commit(lease, at(5), [
            upsert('orders', { id: 'o1', status: 'b' }),
            upsert('orders', { id: 'o2', status: 'b' }),
            upsert('orders', unserialisable),
          ]),
        ).rejects.toThrow();
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'a' });
        expect(await store.get('orders', 'o2')).toBeNull();
        expect(await store.checkpoint('orders-view')).toEqual(pos(1));
      });

      it('after a crash that lost a batch, replaying the tail from the checkpoint gives what one commit per event gives', async () => {
        const history: Array<[number, WriteOp[]]> = [
          [1, [upsert('orders', { id: 'o1', status: 'awaiting' })]],
          [2, [upsert('orders', { id: 'o2', status: 'awaiting' })]],
          [3, [upsert('orders', { id: 'o1', status: 'paid' })]],
          [4, [del('orders', 'o2')]],
          [5, [upsert('orders', { id: 'o1', status: 'provisioned' }), upsert('cards', { id: 'c1', validUntil: '2030-03-01' })]],
        ];
        const batch = (events: Array<[number, WriteOp[]]>): [CommitPoint, WriteOp[]] => [at(events.at(-1)?.[0] ?? 0), events.flatMap(([, ops]) => ops)];
        await store.commit(lease, ...batch(history.slice(0, 2)));
        // The batch of events 3..5 was being committed when the process died: it never landed. The
        // restarted consumer reads from the checkpoint (2) and commits the tail, in other batches.
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
        await store.commit(lease, ...batch(history.slice(2, 3)));
        await store.commit(lease, ...batch(history.slice(3, 5)));
        // A late duplicate of an old batch changes nothing.
        await store.commit(lease, ...batch(history.slice(0, 2)));
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'provisioned' });
        expect(await store.get('orders', 'o2')).toBeNull();
        expect(await store.get('cards', 'c1')).toEqual({ id: 'c1', validUntil: '2030-03-01' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(5));
      });
    });

    describe('versions: build beside, then switch', () => {
      const ORDERS_ONLY = [SPECS[0]];
      const begin = async (owner = 'rebuilder', now = T0): Promise<Lease> => {
        const l = await store.beginVersion('orders-view', ORDERS_ONLY, owner, TTL, now);
        if (!l) throw new Error('beginVersion refused');
        return l;
      };
      const statuses = async (version?: number): Promise<string[]> =>
        (await store.find('orders', { orderBy: { field: 'status', direction: 'asc' }, limit: 10 }, version)).items.map((d) => `${d.id}:${String(d.status)}`);

      /** o1 is 'old' in the live version 1 and 'new' in version 2, built beside it and switched to: the build's lease. */
      const switched = async (): Promise<Lease> => {
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'old' })]);
        const build = await begin();
        await store.commit(build, at(1), [upsert('orders', { id: 'o1', status: 'new' })]);
        expect(await store.promote(build)).toBe(true);
        return build;
      };

      it('queries read the active version while a new one is built beside it, and the new one after the switch', async () => {
        await store.commit(lease, at(1), [upsert('orders', { id: 'o1', status: 'old' })]);
        await store.commit(lease, at(2), [upsert('orders', { id: 'o2', status: 'old' })]);
        expect(await store.versions('orders-view')).toEqual({ active: 1, building: null });
        const build = await begin();
        expect(build).toMatchObject({ projection: 'orders-view', version: 2, owner: 'rebuilder' });
        expect(await store.versions('orders-view')).toEqual({ active: 1, building: 2 });
        expect(await store.get('orders', 'o1', 2)).toBeNull();

        await store.commit(build, at(1), [upsert('orders', { id: 'o1', status: 'new' })]);
        // Not caught up with the live version (2): no switch, queries unchanged; the live version is
        // frozen (its consumer fenced off) so the builder can catch up with a checkpoint that stands still.
        expect(await store.promote(build)).toBe(false);
        expect(await statuses()).toEqual(['o1:old', 'o2:old']);
        expect(await statuses(2)).toEqual(['o1:new']);
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
        await expect(store.commit(lease, at(3), [upsert('orders', { id: 'o3', status: 'old' })])).rejects.toBeInstanceOf(LeaseLost);
        expect(await store.acquireLease('orders-view', 'worker-a', TTL, later(1), 1)).toBeNull();

        await store.commit(build, at(2), [upsert('orders', { id: 'o2', status: 'new' })]);
        await store.indexVersion(build);
        expect(await store.promote(build)).toBe(true);
        expect(await store.versions('orders-view')).toEqual({ active: 2, building: null });
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'new' });
        expect(await statuses()).toEqual(['o1:new', 'o2:new']);
        expect(await store.find('orders', { where: { status: 'new' }, orderBy: { field: 'placedAt', direction: 'asc' }, limit: 10 })).toMatchObject({
          nextCursor: null,
        });
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
      });

      it("the switch retires the old version's lease: its consumer is fenced off and moves to the new version", async () => {
        const build = await switched();
        // The live consumer's next commit is refused and writes nothing; its lease cannot be had again.
        await expect(store.commit(lease, at(2), [upsert('orders', { id: 'o1', status: 'stale' })])).rejects.toBeInstanceOf(LeaseLost);
        expect(await store.acquireLease('orders-view', 'worker-a', TTL, later(1), 1)).toBeNull();
        expect(await store.acquireLease('orders-view', 'worker-a', TTL, later(5 * TTL), 1)).toBeNull();
        // The builder handed the new version's lease over: the consumer takes it at once, with a higher token.
        await expect(store.commit(build, at(2), [])).rejects.toBeInstanceOf(LeaseLost);
        const moved = await store.acquireLease('orders-view', 'worker-a', TTL, later(1), 2);
        expect(moved).toMatchObject({ version: 2, owner: 'worker-a' });
        expect(moved?.token).toBeGreaterThan(build.token);
        if (!moved) throw new Error('unreachable');
        await store.commit(moved, at(2), [upsert('orders', { id: 'o1', status: 'newer' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'newer' });
        expect(await store.checkpoint('orders-view')).toEqual(pos(2));
      });

      it('drops retired versions; queries keep answering from the active one', async () => {
        await switched();
        await store.dropRetired('orders-view');
        expect(await statuses()).toEqual(['o1:new']);
        // Another rebuild later gets version 3 (numbers are never reused) and switches the same way.
        const again = await begin('rebuilder', later(1));
        expect(again.version).toBe(3);
        const consumer = await store.acquireLease('orders-view', 'worker-a', TTL, later(1), 2);
        if (!consumer) throw new Error('no lease on version 2');
        await store.commit(consumer, at(2), [upsert('orders', { id: 'o2', status: 'new' })]);
        await store.commit(again, at(2), [upsert('orders', { id: 'o1', status: 'v3' }), upsert('orders', { id: 'o2', status: 'v3' })]);
        expect(await store.promote(again)).toBe(true);
        expect(await statuses()).toEqual(['o1:v3', 'o2:v3']);
        await expect(store.commit(consumer, at(3), [])).rejects.toBeInstanceOf(LeaseLost);
      });

      it("one build at a time: another owner's running build is refused, an abandoned one is started over", async () => {
        const first = await begin('rebuilder-1');
        await store.commit(first, at(1), [upsert('orders', { id: 'o1', status: 'first' })]);
        expect(await store.beginVersion('orders-view', ORDERS_ONLY, 'rebuilder-2', TTL, later(1))).toBeNull();
        // rebuilder-1 died: once its lease has expired, a new build starts from nothing under a new number.
        const second = await begin('rebuilder-2', later(TTL + 1));
        expect(second.version).toBe(3);
        expect(await store.versions('orders-view')).toEqual({ active: 1, building: 3 });
        expect(await store.checkpoint('orders-view', 3)).toBeNull();
        expect(await store.get('orders', 'o1', 3)).toBeNull();
        await expect(store.commit(first, at(2), [])).rejects.toBeInstanceOf(LeaseLost);
        await expect(store.promote(first)).rejects.toThrow();
      });

      it('a builder that dies after freezing the live version frees it when its lease expires', async () => {
        await store.commit(lease, at(2), [upsert('orders', { id: 'o1', status: 'old' })]);
        const build = await begin();
        expect(await store.promote(build)).toBe(false);
        expect(await store.acquireLease('orders-view', 'worker-a', TTL, later(TTL - 1), 1)).toBeNull();
        const back = await store.acquireLease('orders-view', 'worker-a', TTL, later(TTL), 1);
        expect(back?.token).toBeGreaterThan(lease.token);
        if (!back) throw new Error('unreachable');
        await store.commit(back, at(3), [upsert('orders', { id: 'o1', status: 'live again' })]);
        expect(await store.get('orders', 'o1')).toEqual({ id: 'o1', status: 'live again' });
      });

      it('a version takes writes only for the collections it was begun with', async () => {
        const build = await begin();
        await expect(store.commit(build, at(1), [upsert('cards', { id: 'c1' })])).rejects.toBeInstanceOf(InvalidQuery);
        expect(await store.checkpoint('orders-view', 2)).toBeNull();
      });

      it('ensureCollections after a switch adds indexes to the active version', async () => {
        const build = await begin();
        await store.commit(build, at(1), [upsert('orders', { id: 'o1', status: 'new', channel: 'cctv5' })]);
        expect(await store.promote(build)).toBe(true);
        await store.ensureCollections([{ name: 'orders', indexes: [...SPECS[0].indexes, 'channel'] }], 'orders-view');
        const page = await store.find('orders', { where: { channel: 'cctv5' }, orderBy: { field: 'status', direction: 'asc' }, limit: 5 });
        expect(page.items.map((d) => d.id)).toEqual(['o1']);
      });
    });
  });
}

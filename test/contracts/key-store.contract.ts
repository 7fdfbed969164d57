/**
 * The key store contract: every adapter (stores/sqlite, stores/mongodb) runs these cases.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore, StoredKey } from '../../stores/key-store.ts';

export type OpenKeyStore = () => Promise<{ store: KeyStore; cleanup(): Promise<void> }>;

const key = (subscriberId: string, kid: string, over: Partial<StoredKey> = {}): StoredKey => ({
  subscriberId,
  kid,
  wrapped: `wrapped-${kid}`,
  wrappedBy: 'mk-a',
  createdAt: '2026-11-25T08:00:00.000Z',
  ...over,
});

export function keyStoreContract(name: string, open: OpenKeyStore): void {
  describe(`key store contract: ${name}`, () => {
    let store: KeyStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('a subscriber without a key reads as null; a created key reads back as it was stored', async () => {
      expect(await store.get('sub-1')).toBeNull();
      expect(await store.create(key('sub-1', 'k1'))).toEqual(key('sub-1', 'k1'));
      expect(await store.get('sub-1')).toEqual(key('sub-1', 'k1'));
      expect(await store.get('sub-2')).toBeNull();
    });

    it('one key per subscriber: the first writer wins, and every later create answers the stored key', async () => {
      const created = await Promise.all(['k1', 'k2', 'k3', 'k4'].map((kid) => store.create(key('sub-1', kid))));
      const winner = created[0]?.kid;
      expect(new Set(created.map((k) => k.kid)).size).toBe(1);
      expect((await store.get('sub-1'))?.kid).toBe(winner);
      expect((await store.create(key('sub-1', 'k9'))).kid).toBe(winner);
    });

    it('destroy removes the key for good, only when it is the named key; destroying again does nothing', async () => {
      await store.create(key('sub-1', 'k1'));
      await store.create(key('sub-2', 'k2'));
      expect(await store.destroy('sub-1', 'other')).toBe(false);
      expect(await store.get('sub-1')).not.toBeNull();
      expect(await store.destroy('sub-1', 'k1')).toBe(true);
      expect(await store.get('sub-1')).toBeNull();
      expect(await store.destroy('sub-1', 'k1')).toBe(false);
      expect(await store.get('sub-2')).toEqual(key('sub-2', 'k2'));
    });

    it('after a destroy the subscriber can get a new key, with a new id; the old id destroys nothing then', async () => {
      await store.create(key('sub-1', 'k1'));
      await store.destroy('sub-1', 'k1');
      expect((await store.create(key('sub-1', 'k2'))).kid).toBe('k2');
      expect(await store.destroy('sub-1', 'k1')).toBe(false);
      expect((await store.get('sub-1'))?.kid).toBe('k2');
    });

    it('rewrap replaces the wrapping only while the key is unchanged (compare-and-set)', async () => {
      const k = await store.create(key('sub-1', 'k1'));
      expect(await store.rewrap(k, 'wrapped-by-b', 'mk-b')).toBe(true);
      expect(await store.get('sub-1')).toEqual({ ...k, wrapped: 'wrapped-by-b', wrappedBy: 'mk-b' });
      // A stale copy (someone re-wrapped it meanwhile) changes nothing.
      expect(await store.rewrap(k, 'wrapped-by-c', 'mk-c')).toBe(false);
      expect((await store.get('sub-1'))?.wrappedBy).toBe('mk-b');
      await store.destroy('sub-1', 'k1');
      expect(await store.rewrap({ ...k, wrapped: 'wrapped-by-b', wrappedBy: 'mk-b' }, 'x', 'mk-c')).toBe(false);
      expect(await store.get('sub-1')).toBeNull();
    });

    it('wrappedByOthers pages through the keys a rotation must re-wrap', async () => {
      for (let i = 0; i < 7; i++) await store.create(key(`sub-${i}`, `k${i}`, { wrappedBy: i % 2 ? 'mk-new' : 'mk-old' }));
      const old = await store.wrappedByOthers('mk-new', 100);
      expect(old.map((k) => k.subscriberId).sort()).toEqual(['sub-0', 'sub-2', 'sub-4', 'sub-6']);
      expect(await store.wrappedByOthers('mk-new', 2)).toHaveLength(2);
      for (const k of old) await store.rewrap(k, `re-${k.kid}`, 'mk-new');
      expect(await store.wrappedByOthers('mk-new', 100)).toEqual([]);
    });
  });
}

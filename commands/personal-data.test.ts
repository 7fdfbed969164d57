/**
 * Sealing and opening numbers with each subscriber's data key: deterministic sealing, keys bound to
 * their subscriber, "erased" only when the log says so, and master-key rotation (the old secret still
 * unwraps, the new one wraps, rewrap moves every key over).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sealed } from '../domain/personal-data.ts';
import type { KeyStore } from '../stores/key-store.ts';
import { openSqliteKeyStore } from '../stores/sqlite/key-store.ts';
import { createPersonalData, KeyUnavailable, masterKey } from './personal-data.ts';
import type { ErasureRecord, PersonalData } from '../domain/personal-data.ts';

const OLD = 'old-master-secret-0123456789abcdef-0123';
const NEW = 'new-master-secret-0123456789abcdef-4567';
const now = () => new Date('2026-11-25T08:00:00.000Z');

let dir: string;
let keys: KeyStore;
/** The log's erasures, as the tests decide them. */
let erasures: Map<string, ErasureRecord>;
const vault = (masterSecrets: string[]): PersonalData =>
  createPersonalData({ keys, masterSecrets, erasures: async (id) => erasures.get(id) ?? { erased: false, keyIds: [] }, now });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tvpay-pd-'));
  keys = openSqliteKeyStore(join(dir, 'keys.db'));
  erasures = new Map();
});
afterEach(async () => {
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('seal and reveal', () => {
  it('a sealed number holds no trace of the number, and opens to it with the subscriber’s key', async () => {
    const pd = vault([NEW]);
    const sealed = await pd.seal('sub-1', '8613800138000');
    expect(JSON.stringify(sealed)).not.toMatch(/13800138000/);
    expect(sealed).toMatchObject({ sealed: 'A256GCM', subscriberId: 'sub-1' });
    expect(await pd.reveal(sealed, 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
  });

  it('deterministic: the same number seals the same way for a subscriber (a decided-again command writes the same event), differently for another', async () => {
    const pd = vault([NEW]);
    const a = await pd.seal('sub-1', '8613800138000');
    expect(await pd.seal('sub-1', '8613800138000')).toEqual(a);
    expect((await pd.seal('sub-1', '8613900139000')).ct).not.toBe(a.ct);
    expect((await pd.seal('sub-1', '8613900139000')).iv).not.toBe(a.iv);
    const b = await pd.seal('sub-2', '8613800138000');
    expect(b.kid).not.toBe(a.kid);
    expect(b.ct).not.toBe(a.ct);
  });

  it('a sealed value is bound to its subscriber and key: moved to another, or altered, it does not open', async () => {
    const pd = vault([NEW]);
    const a = await pd.seal('sub-1', '8613800138000');
    const b = await pd.seal('sub-2', '8613900139000');
    const swapped: Sealed = { ...a, subscriberId: 'sub-2', kid: b.kid };
    await expect(pd.reveal(swapped, 'sub-2')).rejects.toThrow();
    const flipped = Buffer.from(a.ct, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(pd.reveal({ ...a, ct: flipped.toString('base64url') }, 'sub-1')).rejects.toThrow();
  });

  it('a plain number (events written before sealing) reads as itself, and as erased once the subscriber is', async () => {
    const pd = vault([NEW]);
    expect(await pd.reveal('8613800138000', 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
    erasures.set('sub-1', { erased: true, keyIds: [] });
    expect(await pd.reveal('8613800138000', 'sub-1')).toEqual({ kind: 'erased' });
    expect(await pd.reveal('8613800138000', 'sub-2')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
  });
});

describe('erased, or missing', () => {
  it('once the log names its key destroyed and the key is gone: erased, in every process sharing the key store (no process keeps a key)', async () => {
    const here = vault([NEW]);
    const there = vault([NEW]);
    const sealed = await here.seal('sub-1', '8613800138000');
    expect(await there.reveal(sealed, 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
    erasures.set('sub-1', { erased: true, keyIds: [sealed.kid] });
    expect(await here.destroy('sub-1', [sealed.kid])).toBe(1);
    expect(await there.reveal(sealed, 'sub-1')).toEqual({ kind: 'erased' });
    expect(await here.reveal(sealed, 'sub-1')).toEqual({ kind: 'erased' });
    expect(await here.destroy('sub-1', [sealed.kid])).toBe(0);
  });

  it('a key missing that no erasure destroyed (a key store not shared, a backup restored without keys) is an error, never "erased"', async () => {
    const sealed = await vault([NEW]).seal('sub-1', '8613800138000');
    const elsewhere = openSqliteKeyStore(join(dir, 'other-keys.db'));
    try {
      const pd = createPersonalData({ keys: elsewhere, masterSecrets: [NEW], erasures: async () => ({ erased: false, keyIds: [] }), now });
      await expect(pd.reveal(sealed, 'sub-1')).rejects.toBeInstanceOf(KeyUnavailable);
    } finally {
      await elsewhere.close();
    }
  });

  it('after an erasure the subscriber’s next order gets a new key: readable, while the old numbers stay erased', async () => {
    const pd = vault([NEW]);
    const before = await pd.seal('sub-1', '8613800138000');
    erasures.set('sub-1', { erased: true, keyIds: [before.kid] });
    await pd.destroy('sub-1', [before.kid]);
    const after = await pd.seal('sub-1', '8613800138000');
    expect(after.kid).not.toBe(before.kid);
    expect(await pd.keyIds('sub-1')).toEqual([after.kid]);
    expect(await pd.reveal(after, 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
    expect(await pd.reveal(before, 'sub-1')).toEqual({ kind: 'erased' });
  });
});

describe('master key rotation (DATA_KEY_SECRET = "new,old")', () => {
  it('the old secret still unwraps the keys it wrapped; the new one wraps new keys; rewrap moves every key to the new one, after which the old can go', async () => {
    const before = vault([OLD]);
    const a = await before.seal('sub-1', '8613800138000');
    const b = await before.seal('sub-2', '8613900139000');
    expect((await keys.get('sub-1'))?.wrappedBy).toBe(masterKey(OLD).id);

    const rotating = vault([NEW, OLD]);
    expect(await rotating.reveal(a, 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
    const c = await rotating.seal('sub-3', '8613700137000');
    expect((await keys.get('sub-3'))?.wrappedBy).toBe(masterKey(NEW).id);
    // Without the old secret, its keys cannot be unwrapped: loud, never "erased".
    await expect(vault([NEW]).reveal(a, 'sub-1')).rejects.toThrow(/DATA_KEY_SECRET does not list/);

    expect(await rotating.rewrapAll()).toEqual({ rewrapped: 2 });
    expect(await rotating.rewrapAll()).toEqual({ rewrapped: 0 });
    const after = vault([NEW]);
    expect(await after.reveal(a, 'sub-1')).toEqual({ kind: 'msisdn', msisdn: '8613800138000' });
    expect(await after.reveal(b, 'sub-2')).toEqual({ kind: 'msisdn', msisdn: '8613900139000' });
    expect(await after.reveal(c, 'sub-3')).toEqual({ kind: 'msisdn', msisdn: '8613700137000' });
    // The data keys did not change: what was sealed before seals the same way now.
    expect(await after.seal('sub-1', '8613800138000')).toEqual(a);
  });

  it('a wrong secret in place of the old one does not unwrap', async () => {
    const a = await vault([OLD]).seal('sub-1', '8613800138000');
    await expect(vault(['not-the-old-secret-0123456789abcdef-xyz']).reveal(a, 'sub-1')).rejects.toBeInstanceOf(KeyUnavailable);
  });
});

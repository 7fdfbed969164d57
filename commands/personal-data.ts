/**
 * Sealing and opening phone numbers with each subscriber's own data key (crypto-shredding).
 *
 * - A data key is 32 random bytes, one per subscriber at a time, kept in the key store (apart from
 *   the log) wrapped by the master key: AES-256-GCM under a key derived from the first entry of
 *   DATA_KEY_SECRET; every entry can unwrap (rotation). The wrapping names its master key by a
 *   fingerprint and is bound to the subscriber and the key id (associated data).
 * - A number is sealed with AES-256-GCM under a key derived from the data key, bound to the subscriber
 *   and key id. The nonce is derived from the content (HMAC under a second derived key), so the same
 *   number seals to the same value: a command decided twice writes the same event, which the store
 *   keeps once (docs/event-identity.md), and a resumed migration re-sends identical events. Equal
 *   values reveal only that one subscriber used one number twice.
 * - "Erased" is a fact of the log, never a guess: a sealed value reads as erased only when a
 *   SubscriberErased event destroyed its key. A key that is missing otherwise (a process that does not
 *   share the key store, a restored backup without the keys) is an error, loud, and never shown as
 *   erased. Plain numbers (events written before sealing) read as erased once the subscriber is.
 *
 * Nothing here caches an unwrapped key: once one process destroys a key, no process can open it.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { isSealed, type ErasureRecord, type PersonalData, type Sealed } from '../domain/personal-data.ts';
import type { KeyStore, StoredKey } from '../stores/key-store.ts';

export class KeyUnavailable extends Error {
  override readonly name = 'KeyUnavailable';
}

type MasterKey = { id: string; kek: Buffer };

const LABEL = 'tvpay-ledger';

/** A master key from one DATA_KEY_SECRET entry: its wrapping key and a fingerprint that names it. */
export const masterKey = (secret: string): MasterKey => ({
  id: `mk-${createHmac('sha256', secret).update(`${LABEL}/master-key-id`).digest('hex').slice(0, 16)}`,
  kek: Buffer.from(hkdfSync('sha256', secret, LABEL, 'data-key-wrap/v1', 32)),
});

const b64 = (b: Buffer): string => b.toString('base64url');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64url');

const gcmSeal = (key: Buffer, iv: Buffer, aad: string, plain: Buffer): Buffer => {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
};

const gcmOpen = (key: Buffer, iv: Buffer, aad: string, sealed: Buffer): Buffer => {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
};

const wrapAad = (subscriberId: string, kid: string): string => `${LABEL}/data-key/v1/${subscriberId}/${kid}`;
const sealAad = (subscriberId: string, kid: string): string => `${LABEL}/msisdn/v1/${subscriberId}/${kid}`;

const derive = (dataKey: Buffer, what: string): Buffer => Buffer.from(hkdfSync('sha256', dataKey, LABEL, `msisdn/${what}/v1`, 32));

export const wrapKey = (master: MasterKey, subscriberId: string, kid: string, dataKey: Buffer): string => {
  const iv = randomBytes(12);
  return b64(Buffer.concat([iv, gcmSeal(master.kek, iv, wrapAad(subscriberId, kid), dataKey)]));
};

const unwrapKey = (masters: readonly MasterKey[], key: StoredKey): Buffer => {
  const master = masters.find((m) => m.id === key.wrappedBy);
  if (!master) {
    throw new KeyUnavailable(
      `the data key of subscriber ${key.subscriberId} is wrapped by master key ${key.wrappedBy}, which DATA_KEY_SECRET does not list (keep an old secret in the list until \`npm run rewrap-keys\` has run)`,
    );
  }
  const raw = unb64(key.wrapped);
  return gcmOpen(master.kek, raw.subarray(0, 12), wrapAad(key.subscriberId, key.kid), raw.subarray(12));
};

export const sealWith = (dataKey: Buffer, subscriberId: string, kid: string, msisdn: string): Sealed => {
  const aad = sealAad(subscriberId, kid);
  const iv = createHmac('sha256', derive(dataKey, 'nonce')).update(`${aad}\n${msisdn}`).digest().subarray(0, 12);
  return { sealed: 'A256GCM', subscriberId, kid, iv: b64(iv), ct: b64(gcmSeal(derive(dataKey, 'enc'), iv, aad, Buffer.from(msisdn))) };
};

const openWith = (dataKey: Buffer, s: Sealed): string => gcmOpen(derive(dataKey, 'enc'), unb64(s.iv), sealAad(s.subscriberId, s.kid), unb64(s.ct)).toString();

export type PersonalDataDeps = {
  keys: KeyStore;
  /** DATA_KEY_SECRET's entries: the first wraps new keys, all unwrap. */
  masterSecrets: readonly string[];
  /** The subscriber's erasures as the log records them (the `subscriber-<id>` stream). */
  erasures: (subscriberId: string) => Promise<ErasureRecord>;
  now: () => Date;
};

export const createPersonalData = (deps: PersonalDataDeps): PersonalData => {
  const masters = deps.masterSecrets.map(masterKey);
  const current = masters[0];
  if (!current) throw new Error('personal data: no master key (DATA_KEY_SECRET)');

  /** Runs `use` with the unwrapped key, then wipes it from memory. */
  const withKey = <T>(key: StoredKey, use: (dataKey: Buffer) => T): T => {
    const dataKey = unwrapKey(masters, key);
    try {
      return use(dataKey);
    } finally {
      dataKey.fill(0);
    }
  };

  const keyFor = async (subscriberId: string): Promise<StoredKey> => {
    const existing = await deps.keys.get(subscriberId);
    if (existing) return existing;
    const kid = randomUUID();
    const dataKey = randomBytes(32);
    try {
      // First writer wins: a racing process may have stored its key first; then that one is used.
      return await deps.keys.create({
        subscriberId,
        kid,
        wrapped: wrapKey(current, subscriberId, kid, dataKey),
        wrappedBy: current.id,
        createdAt: deps.now().toISOString(),
      });
    } finally {
      dataKey.fill(0);
    }
  };

  return {
    seal: async (subscriberId, msisdn) => {
      const key = await keyFor(subscriberId);
      return withKey(key, (dataKey) => sealWith(dataKey, subscriberId, key.kid, msisdn));
    },
    reveal: async (value, subscriberId) => {
      if (!isSealed(value)) return (await deps.erasures(subscriberId)).erased ? { kind: 'erased' } : { kind: 'msisdn', msisdn: value };
      const key = await deps.keys.get(value.subscriberId);
      if (key?.kid === value.kid) return { kind: 'msisdn', msisdn: withKey(key, (dataKey) => openWith(dataKey, value)) };
      const record = await deps.erasures(value.subscriberId);
      if (record.keyIds.includes(value.kid)) return { kind: 'erased' };
      throw new KeyUnavailable(
        `the data key ${value.kid} of subscriber ${value.subscriberId} is in no key store this process can see, and no erasure destroyed it: ` +
          'every process sharing the event log must share the key store (MONGODB_URL, or DATA_KEYS_FILE) and DATA_KEY_SECRET',
      );
    },
    keyIds: async (subscriberId) => {
      const key = await deps.keys.get(subscriberId);
      return key ? [key.kid] : [];
    },
    destroy: async (subscriberId, keyIds) => {
      let destroyed = 0;
      for (const kid of keyIds) if (await deps.keys.destroy(subscriberId, kid)) destroyed++;
      return destroyed;
    },
    rewrapAll: async () => {
      let rewrapped = 0;
      for (;;) {
        const page = await deps.keys.wrappedByOthers(current.id, 100);
        if (page.length === 0) return { rewrapped };
        let moved = 0;
        for (const key of page) {
          const wrapped = withKey(key, (dataKey) => wrapKey(current, key.subscriberId, key.kid, dataKey));
          // A key destroyed or re-wrapped meanwhile is left as it is.
          if (await deps.keys.rewrap(key, wrapped, current.id)) moved++;
        }
        rewrapped += moved;
      }
    },
  };
};

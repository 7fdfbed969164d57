/**
 * `npm run migrate -- --encrypt-pii`: what changes in each event on the way into the copy, and how
 * the copy is checked against its source.
 *
 * Changed, and only this:
 * - `msisdn` in OrderPlaced and PaymentRequested: a plain number is sealed with its subscriber's data
 *   key (created in the key store if the subscriber has none); a sealed one is copied as it is;
 * - `requestHash` in OrderPlaced: it is a digest of the request, plain number included, that anyone
 *   could reverse by trying every number; it becomes the digest of the sealed request, as new orders
 *   have it (commands/place-order.ts);
 * - a subscriber erased before the migration (the source holds a SubscriberErased) keeps no number at
 *   all: a sealed value with no ciphertext under a key id that exists nowhere, and every SubscriberErased
 *   of theirs lists that key id as destroyed, so readers show "erased" as before.
 *
 * Sealing is deterministic (commands/personal-data.ts): a resumed copy re-sends identical events,
 * which the target keeps once.
 *
 * Checked: the same count; the same digest of every event with its personal fields set aside (ids,
 * streams, revisions, types, metadata, every other field); and every sealed number in the copy opens
 * to the source's number (or reads "erased" for an erased subscriber).
 */
import { createHash } from 'node:crypto';
import { digestOf, uuidFrom } from '../../commands/ids.ts';
import type { PersonalData } from '../../domain/personal-data.ts';
import { isSealed, storedMsisdn, type Sealed } from '../../domain/personal-data.ts';
import { readLog, type EventStore, type RecordedEvent } from '../../stores/event-store.ts';

type Data = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Subscribers the source log says were erased. */
export const erasedIn = async (source: EventStore): Promise<Set<string>> => {
  const erased = new Set<string>();
  for await (const e of readLog(source)) if (e.type === 'SubscriberErased') erased.add(str(e.data.subscriberId));
  return erased;
};

/** The key id of the number an erased subscriber had in plain text: no key has it, every erasure of theirs lists it. */
export const erasedBeforeSealing = (subscriberId: string): string => uuidFrom('erased-before-sealing', subscriberId);

const tombstone = (subscriberId: string): Sealed => ({ sealed: 'A256GCM', subscriberId, kid: erasedBeforeSealing(subscriberId), iv: '', ct: '' });

/** The request as the open platform sent it, rebuilt from OrderPlaced (place-order.ts digests this). */
const requestOf = (d: Data, msisdn: unknown): Data => ({
  subscriberId: d.subscriberId,
  smartcardId: d.smartcardId,
  msisdn,
  productId: typeof d.product === 'object' && d.product !== null && 'productId' in d.product ? d.product.productId : undefined,
  paymentMethod: 'mobile',
});

export type Sealer = (e: RecordedEvent) => Promise<Data>;

export const piiSealer = (source: EventStore, personalData: Pick<PersonalData, 'seal'>, erased: ReadonlySet<string>): Sealer => {
  const owners = new Map<string, string>();
  const ownerOf = async (orderId: string): Promise<string> => {
    const known = owners.get(orderId);
    if (known !== undefined) return known;
    // Resumed in the middle of the log: the order was placed before this run started.
    const [placed] = await source.readStream(`order-${orderId}`);
    return str(placed?.data.subscriberId);
  };
  const seal = async (msisdn: string | Sealed, subscriberId: string): Promise<Sealed> => {
    if (isSealed(msisdn)) return msisdn;
    return erased.has(subscriberId) ? tombstone(subscriberId) : personalData.seal(subscriberId, msisdn);
  };
  return async (e) => {
    const stored = storedMsisdn(e.data.msisdn);
    if (e.type === 'OrderPlaced' && stored !== undefined) {
      const subscriberId = str(e.data.subscriberId);
      owners.set(str(e.data.orderId), subscriberId);
      const sealed = await seal(stored, subscriberId);
      return isSealed(stored) ? e.data : { ...e.data, msisdn: sealed, requestHash: digestOf(requestOf(e.data, sealed)) };
    }
    if (e.type === 'PaymentRequested' && stored !== undefined) {
      return isSealed(stored) ? e.data : { ...e.data, msisdn: await seal(stored, await ownerOf(str(e.data.orderId))) };
    }
    if (e.type === 'SubscriberErased') {
      const subscriberId = str(e.data.subscriberId);
      const keyIds = Array.isArray(e.data.keyIds) ? e.data.keyIds : [];
      const kid = erasedBeforeSealing(subscriberId);
      return keyIds.includes(kid) ? e.data : { ...e.data, keyIds: [...keyIds, kid] };
    }
    return e.data;
  };
};

/** An event's data with its personal fields set aside: what must be identical in the source and the copy. */
const withoutPii = (e: RecordedEvent): Data => {
  if (e.type === 'SubscriberErased') {
    const kid = erasedBeforeSealing(str(e.data.subscriberId));
    return { ...e.data, keyIds: (Array.isArray(e.data.keyIds) ? e.data.keyIds : []).filter((k) => k !== kid) };
  }
  if (storedMsisdn(e.data.msisdn) === undefined) return e.data;
  const { msisdn: _m, requestHash: _h, ...rest } = e.data;
  return rest;
};

/** Count and digest of the log with personal fields set aside. */
export const digestWithoutPii = async (store: EventStore): Promise<{ count: number; digest: string }> => {
  const h = createHash('sha256');
  let count = 0;
  for await (const e of readLog(store)) {
    h.update(JSON.stringify([e.id, e.streamId, e.revision, e.type, withoutPii(e), e.metadata]));
    h.update('\n');
    count++;
  }
  return { count, digest: h.digest('hex') };
};

export type SealCheck = { numbers: number; plainInCopy: number; mismatched: string[] };

/**
 * Every number in the copy is sealed, and opens to the source's number (an erased subscriber's reads
 * "erased"); an order's requestHash is the digest of its sealed request. Both logs are read in order.
 */
export const checkSealed = async (
  source: EventStore,
  copy: EventStore,
  personalData: Pick<PersonalData, 'reveal'>,
  erased: ReadonlySet<string>,
): Promise<SealCheck> => {
  const check: SealCheck = { numbers: 0, plainInCopy: 0, mismatched: [] };
  const theirs = readLog(copy)[Symbol.asyncIterator]();
  for await (const e of readLog(source)) {
    const next = await theirs.next();
    const c: RecordedEvent | undefined = next.done ? undefined : next.value;
    const before = storedMsisdn(e.data.msisdn);
    if (before === undefined) continue;
    check.numbers++;
    const after = c?.id === e.id ? c.data.msisdn : undefined;
    if (!isSealed(after)) {
      if (after !== undefined) check.plainInCopy++;
      check.mismatched.push(`${e.streamId}@${e.revision}`);
      continue;
    }
    const opened = await personalData.reveal(after, after.subscriberId);
    const expected = isSealed(before)
      ? await personalData.reveal(before, before.subscriberId)
      : erased.has(after.subscriberId)
        ? { kind: 'erased' }
        : { kind: 'msisdn', msisdn: before };
    const hashOk = e.type !== 'OrderPlaced' || c?.data.requestHash === (isSealed(before) ? e.data.requestHash : digestOf(requestOf(e.data, after)));
    if (JSON.stringify(opened) !== JSON.stringify(expected) || !hashOk) check.mismatched.push(`${e.streamId}@${e.revision}`);
  }
  return check;
};

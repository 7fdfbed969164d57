/**
 * Personal data as events hold it. The deciders never look inside: they carry the value from the
 * command into the events (OrderPlaced, then PaymentRequested) and nothing else.
 *
 * - `Sealed`: encrypted with the subscriber's own data key (AES-256-GCM), in events written since
 *   erasure came in. Destroying the key (SubscriberErased) makes every copy in the log unreadable at
 *   once, without rewriting the log (commands/personal-data.ts, docs/privacy.md).
 * - a plain string: events written before, until `npm run migrate -- --encrypt-pii` copies the log
 *   with every number sealed. Readers honour a subscriber's erasure for these too.
 */
export type Sealed = {
  /** The format: AES-256-GCM, nonce derived from the content (the same number seals the same way). */
  sealed: 'A256GCM';
  /** Whose key sealed it. */
  subscriberId: string;
  /** Which of the subscriber's keys (a new one after an erasure). */
  kid: string;
  /** base64url nonce (12 bytes) and ciphertext with its 16-byte tag. */
  iv: string;
  ct: string;
};

/** A phone number in an event: sealed, or plain text in events written before sealing. */
export type StoredMsisdn = string | Sealed;

export const isSealed = (v: unknown): v is Sealed =>
  typeof v === 'object' &&
  v !== null &&
  'sealed' in v &&
  v.sealed === 'A256GCM' &&
  'subscriberId' in v &&
  typeof v.subscriberId === 'string' &&
  'kid' in v &&
  typeof v.kid === 'string' &&
  'iv' in v &&
  typeof v.iv === 'string' &&
  'ct' in v &&
  typeof v.ct === 'string';

/** What a stored number is, for whoever reads raw events (history, migration): sealed, plain (older events), or neither. */
export const storedMsisdn = (v: unknown): StoredMsisdn | undefined => (typeof v === 'string' || isSealed(v) ? v : undefined);

/** What a stored number reads as. */
export type Revealed = { kind: 'msisdn'; msisdn: string } | { kind: 'erased' };

/** What readers show where an erased number was. */
export const ERASED = 'erased';

/** The display of a revealed number: itself, masked, or "erased". */
export const shown = (r: Revealed, show: (msisdn: string) => string = (m) => m): string => (r.kind === 'erased' ? ERASED : show(r.msisdn));

/** What the log says about a subscriber's erasures: the keys destroyed so far. */
export type ErasureRecord = { erased: boolean; keyIds: readonly string[] };

export type PersonalData = {
  /** Seals the number with the subscriber's key, creating the key on first use. */
  seal(subscriberId: string, msisdn: string): Promise<Sealed>;
  /** The number, or erased. `subscriberId` is the owner's, for plain numbers of older events. */
  reveal(value: StoredMsisdn, subscriberId: string): Promise<Revealed>;
  /** The ids of the keys that hold the subscriber's numbers now. */
  keyIds(subscriberId: string): Promise<string[]>;
  /** Destroys these keys of the subscriber (those still there); answers how many went now. */
  destroy(subscriberId: string, keyIds: readonly string[]): Promise<number>;
  /** Re-wraps every key not wrapped by the first master key with it, so older master keys can be retired. */
  rewrapAll(): Promise<{ rewrapped: number }>;
};

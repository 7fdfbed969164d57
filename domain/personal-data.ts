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

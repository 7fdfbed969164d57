/**
 * The key store port: each subscriber's data key, wrapped by a master key. Kept apart from the
 * event log (its own SQLite file, or its own MongoDB collection): destroying a key here erases every
 * phone number it sealed in the log, without touching the log. This store only keeps wrapped bytes;
 * commands/personal-data.ts wraps, unwraps, seals and opens.
 *
 * Invariants every adapter keeps (test/contracts/key-store.contract.ts):
 * - a subscriber has at most one key at a time; `create` is first-writer-wins and answers the key
 *   that is stored, so racing processes seal with the same key;
 * - `create` is durable before it resolves (the key must outlive any event sealed with it);
 * - `destroy` removes the key for good: no later read returns it, and the adapter leaves no copy in
 *   its own files where it can help it (SQLite: secure_delete, then the WAL is checkpointed and truncated);
 * - `rewrap` replaces a key's wrapping only while it is still that key (compare-and-set).
 */
export type StoredKey = {
  subscriberId: string;
  /** Random, one per key: a key created after an erasure has a new one. */
  kid: string;
  /** The data key wrapped by the master key `wrappedBy`, base64url. */
  wrapped: string;
  /** Which master key wrapped it: a fingerprint, never the key. */
  wrappedBy: string;
  createdAt: string;
};

export interface KeyStore {
  /** The subscriber's current key, or null. */
  get(subscriberId: string): Promise<StoredKey | null>;
  /** Stores the key unless the subscriber already has one; answers the key stored. */
  create(key: StoredKey): Promise<StoredKey>;
  /** Destroys the subscriber's key if it is `kid`; true when one was destroyed now. */
  destroy(subscriberId: string, kid: string): Promise<boolean>;
  /** Replaces the wrapping of `key` if the stored key is still `key` as given; true when replaced. */
  rewrap(key: StoredKey, wrapped: string, wrappedBy: string): Promise<boolean>;
  /** Up to `limit` keys wrapped by any master key but `wrappedBy` (for a rotation). */
  wrappedByOthers(wrappedBy: string, limit: number): Promise<StoredKey[]>;
  close(): Promise<void>;
}

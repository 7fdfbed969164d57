/**
 * Tamper-evident seals over the whole event log. A seal is a `LedgerSealed` event on the stream
 * `ledger-seals`: the SHA-256 chain over every event of the global log from the previous seal's
 * last event up to a point, started from the previous seal's chain value.
 *
 *   leaf(e)   = SHA-256(canonical(e))            canonical: sorted-key JSON of id, streamId, revision, type, data, metadata
 *   chain(e)  = SHA-256(chain(previous event) ‖ leaf(e))       chain before the first event: 64 zeros
 *
 * Invariants:
 * - the canonical form holds only what every event store keeps identically (not positions, which
 *   differ between stores, nor the store's clock), so a log copied by `npm run migrate` verifies
 *   against the same seals on either store;
 * - every event counts, seals included: deleting a seal breaks the next one (seals with nothing
 *   but seals after them are left for the next run, so a quiet log is not sealed over and over);
 * - seals are numbered 1, 2, … and appended with the expected revision of the stream, so two
 *   sealers at once write one seal each turn, never two seals with the same number;
 * - a seal also carries 8 bytes of each sealed event's leaf (`digests`): the chain says THAT the
 *   log changed, the digests say WHICH event; a seal covers at most MAX_EVENTS_PER_SEAL events.
 */
import { createHash } from 'node:crypto';
import {
  WrongExpectedRevision,
  comparePositions,
  readLog,
  reached,
  type EventStore,
  type From,
  type NewEvent,
  type RecordedEvent,
} from '../stores/event-store.ts';
import { SCHEMA_VERSION } from './execute.ts';
import { canonicalJson, uuidFrom } from './ids.ts';

export const SEALS_STREAM = 'ledger-seals';
export const MAX_EVENTS_PER_SEAL = 10_000;
export const LEAF_DIGEST_BYTES = 8;
export const GENESIS_CHAIN = '0'.repeat(64);

/** The sealed event named by a seal: where the chain stops. */
export type SealedEventRef = { eventId: string; streamId: string; revision: number };

export type LedgerSealed = {
  type: 'LedgerSealed';
  data: {
    sealNo: number;
    /** 1-based places in the global log of the first and the last event sealed. */
    from: number;
    to: number;
    last: SealedEventRef;
    /** The previous seal's chain (GENESIS_CHAIN for seal 1), hex. */
    previous: string;
    /** The chain value after the last sealed event, hex. */
    chain: string;
    /** base64url of LEAF_DIGEST_BYTES bytes of each sealed event's leaf, in log order. */
    digests: string;
    at: string;
  };
};

type Canonical = Pick<RecordedEvent, 'id' | 'streamId' | 'revision' | 'type' | 'data' | 'metadata'>;

/** The canonical form of an event: the same on every store, whatever the field order it was stored in. */
export const canonicalEvent = (e: Canonical): string =>
  canonicalJson({ id: e.id, streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata });

export const leafOf = (e: Canonical): Buffer => createHash('sha256').update(canonicalEvent(e)).digest();

export const chainStep = (previous: Buffer, leaf: Buffer): Buffer => createHash('sha256').update(previous).update(leaf).digest();

export const isLedgerSealed = (e: Pick<RecordedEvent, 'streamId' | 'type'>): boolean => e.streamId === SEALS_STREAM && e.type === 'LedgerSealed';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A stored seal's data, or undefined when it is not the shape a seal has (the audit says so). */
export const readSeal = (e: Pick<RecordedEvent, 'streamId' | 'type' | 'data'>): LedgerSealed['data'] | undefined => {
  if (!isLedgerSealed(e)) return undefined;
  const d = e.data;
  const last = d.last;
  const ok =
    Number.isSafeInteger(d.sealNo) &&
    Number.isSafeInteger(d.from) &&
    Number.isSafeInteger(d.to) &&
    typeof d.previous === 'string' &&
    typeof d.chain === 'string' &&
    typeof d.digests === 'string' &&
    typeof d.at === 'string' &&
    isRecord(last) &&
    typeof last.eventId === 'string' &&
    typeof last.streamId === 'string' &&
    Number.isSafeInteger(last.revision);
  return ok ? (d as LedgerSealed['data']) : undefined;
};

export type SealResult = {
  /** The seals this call appended, oldest first ([] when nothing new was there to seal). */
  sealed: LedgerSealed['data'][];
  /** The chain head after this call: the last seal's number and chain (0 and GENESIS_CHAIN before any). */
  head: { sealNo: number; chain: string; to: number };
};

/** The last seal names an event the log no longer has where the seal put it: only an audit can say more. */
export class SealChainBroken extends Error {
  override readonly name = 'SealChainBroken';
}

export type SealOptions = { maxEventsPerSeal?: number };

/**
 * Appends seals over every event after the last seal, up to the head of the log as it is when
 * called. Safe to run at any time and from several processes: a sealer that loses the race to
 * another stops (the other one sealed), and the next run carries on from the newest seal.
 */
export const sealLog = async (store: EventStore, now: () => Date, opts: SealOptions = {}): Promise<SealResult> => {
  const max = opts.maxEventsPerSeal ?? MAX_EVENTS_PER_SEAL;
  const seals = (await store.readStream(SEALS_STREAM)).map((e) => ({ recorded: e, seal: readSeal(e) }));
  const lastStored = seals.at(-1);
  if (lastStored && !lastStored.seal) throw new SealChainBroken(`the newest seal (${SEALS_STREAM}@${lastStored.recorded.revision}) is malformed`);
  const last = lastStored?.seal;
  let revision = lastStored ? lastStored.recorded.revision : -1;
  let sealNo = last?.sealNo ?? 0;
  let chain: Buffer = Buffer.from(last?.chain ?? GENESIS_CHAIN, 'hex');
  let ordinal = last?.to ?? 0;

  let from: From = 'start';
  if (last) {
    const end = (await store.readStream(last.last.streamId)).find((e) => e.revision === last.last.revision);
    if (!end || end.id !== last.last.eventId) {
      throw new SealChainBroken(`seal #${last.sealNo} ends at ${last.last.streamId}@${last.last.revision} (${last.last.eventId}), which is not in the log`);
    }
    from = end.position;
  }
  const head = await store.headPosition();
  const sealed: LedgerSealed['data'][] = [];
  let batch: { leaf: Buffer; event: RecordedEvent }[] = [];

  const result = (): SealResult => {
    const newest = sealed.at(-1) ?? last;
    return { sealed, head: { sealNo: newest?.sealNo ?? 0, chain: newest?.chain ?? GENESIS_CHAIN, to: newest?.to ?? 0 } };
  };

  const seal = async (): Promise<boolean> => {
    const lastEvent = batch.at(-1)?.event;
    // Only seals since the last seal: nothing new happened. They are sealed with the next events.
    if (!lastEvent || batch.every((b) => isLedgerSealed(b.event))) return true;
    const data: LedgerSealed['data'] = {
      sealNo: sealNo + 1,
      from: ordinal - batch.length + 1,
      to: ordinal,
      last: { eventId: lastEvent.id, streamId: lastEvent.streamId, revision: lastEvent.revision },
      previous: sealed.at(-1)?.chain ?? last?.chain ?? GENESIS_CHAIN,
      chain: chain.toString('hex'),
      digests: Buffer.concat(batch.map((b) => b.leaf.subarray(0, LEAF_DIGEST_BYTES))).toString('base64url'),
      at: now().toISOString(),
    };
    const event: NewEvent = {
      id: uuidFrom('seal', String(data.sealNo), data.chain),
      type: 'LedgerSealed',
      data,
      // Caused by the last event it seals, which precedes it in the log.
      metadata: { correlationId: `seal-${data.sealNo}`, causationId: lastEvent.id, actor: { role: 'system', client: 'seal' }, schemaVersion: SCHEMA_VERSION },
    };
    try {
      await store.append(SEALS_STREAM, [event], revision < 0 ? 'no_stream' : revision);
    } catch (err) {
      if (err instanceof WrongExpectedRevision) return false; // another sealer went first: its seals stand
      throw err;
    }
    revision += 1;
    sealNo += 1;
    sealed.push(data);
    batch = [];
    return true;
  };

  if (head !== null && (from === 'start' || comparePositions(from, head) < 0)) {
    for await (const e of readLog(store, from)) {
      if (!reached(head, e.position)) break; // past the head as it was when we started
      const leaf = leafOf(e);
      chain = chainStep(chain, leaf);
      ordinal += 1;
      batch.push({ leaf, event: e });
      if (batch.length >= max && !(await seal())) return result();
    }
    await seal();
  }
  return result();
};

export type DailySealDeps = {
  store: EventStore;
  now: () => Date;
  logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** How often to look whether a day has passed since the newest seal; default one hour. */
  checkEveryMs?: number;
  /** Called after each look, with the seals it appended (metrics, tests). */
  onChecked?: (sealed: number) => void;
};

const DAY_MS = 86_400_000;

/** When the newest seal was made (ms), or 0 when there is none. */
const newestSealAt = async (store: EventStore): Promise<number> => {
  const last = (await store.readStream(SEALS_STREAM)).at(-1);
  const seal = last && readSeal(last);
  return seal ? Date.parse(seal.at) : 0;
};

/**
 * The service's daily seal: every `checkEveryMs` (first time one interval after start, so a
 * restart never seals at once), seals when the newest seal is a day old by the service's clock,
 * or when there is none. Several processes may run it: sealLog lets one seal win.
 */
export const startDailySeal = (deps: DailySealDeps): { stop(): void } => {
  let newestAt: number | undefined;
  let running = false;
  const check = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      newestAt ??= await newestSealAt(deps.store);
      const now = deps.now();
      if (now.getTime() - newestAt < DAY_MS) return deps.onChecked?.(0);
      const r = await sealLog(deps.store, deps.now);
      newestAt = now.getTime();
      deps.logger.info({ seals: r.sealed.map((s) => s.sealNo), head: r.head }, r.sealed.length > 0 ? 'log sealed' : 'nothing new to seal');
      deps.onChecked?.(r.sealed.length);
    } catch (err) {
      deps.logger.error({ err }, 'daily seal failed; npm run audit says why');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), deps.checkEveryMs ?? 3_600_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

/**
 * Verifies every `LedgerSealed` (commands/seal-log.ts) against the log as it is now, and when a
 * seal does not hold, names the first event that differs from what was sealed and how: changed,
 * deleted, inserted, or moved (two events swapped).
 *
 * A seal's segment is found by identity, not by counting: it runs from the event after the
 * previous seal's last event to the event the seal names as its last. So an event deleted in one
 * segment is reported once, in that segment, and does not make every later seal fail too.
 *
 * Events after the newest seal are not covered by any seal yet: they are counted, not verified.
 */
import { GENESIS_CHAIN, LEAF_DIGEST_BYTES, SEALS_STREAM, chainStep, isLedgerSealed, leafOf, readSeal, type LedgerSealed } from '../../commands/seal-log.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { describeRef, refOf, type EventRef, type Finding } from './finding.ts';

export type SealSummary = {
  seals: number;
  /** Seals whose segment is exactly what was sealed. */
  verified: number;
  newest: { sealNo: number; at: string; to: number; chain: string } | null;
  /** Events after the newest seal (not covered by any seal yet), seals themselves not counted. */
  unsealed: number;
};

type Pending = { leaf: Buffer; ref: EventRef };

const hexDigest = (leaf: Buffer): string => leaf.subarray(0, LEAF_DIGEST_BYTES).toString('hex');

const sealedDigests = (seal: LedgerSealed['data']): string[] => {
  const raw = Buffer.from(seal.digests, 'base64url');
  const out: string[] = [];
  for (let i = 0; i + LEAF_DIGEST_BYTES <= raw.length; i += LEAF_DIGEST_BYTES) out.push(raw.subarray(i, i + LEAF_DIGEST_BYTES).toString('hex'));
  return out;
};

/** The first place where the log differs from the seal, and what happened there. */
const locate = (seal: LedgerSealed['data'], segment: readonly Pending[], sealed: readonly string[]): Omit<Finding, 'check'> => {
  const actual = segment.map((p) => hexDigest(p.leaf));
  const place = (i: number): number => seal.from + i;
  let i = 0;
  while (i < actual.length && i < sealed.length && actual[i] === sealed[i]) i++;
  const here = segment[i];
  if (!here) {
    // Everything present matches: events are missing at the end of the segment.
    const before = segment.at(-1)?.ref;
    return {
      rule: 'event-deleted',
      message: `seal #${seal.sealNo}: ${sealed.length - actual.length} event(s) sealed as #${place(actual.length)}… are missing (deleted) at the end of the segment, after ${before ? describeRef(before) : 'the previous seal'}`,
      ...(before && { event: before }),
    };
  }
  if (i >= sealed.length) {
    return {
      rule: 'event-inserted',
      message: `seal #${seal.sealNo}: ${describeRef(here.ref)} was not in the log when it was sealed (inserted)`,
      event: here.ref,
    };
  }
  if (actual[i] === sealed[i + 1] && (actual[i + 1] === sealed[i + 2] || i + 1 >= actual.length)) {
    return {
      rule: 'event-deleted',
      message: `seal #${seal.sealNo}: the event sealed as #${place(i)} is missing (deleted); ${describeRef(here.ref)} was sealed as #${place(i + 1)}`,
      event: here.ref,
    };
  }
  if (actual[i + 1] === sealed[i]) {
    return {
      rule: 'event-inserted',
      message: `seal #${seal.sealNo}: ${describeRef(here.ref)} was not in the log when it was sealed (inserted before #${place(i)})`,
      event: here.ref,
    };
  }
  const j = actual.findIndex((d, k) => k > i && d === sealed[i] && actual[i] === sealed[k]);
  const there = segment[j];
  if (j > i && there) {
    return {
      rule: 'events-swapped',
      message: `seal #${seal.sealNo}: ${describeRef(here.ref)} and ${describeRef(there.ref)} have swapped places (sealed as #${place(j)} and #${place(i)})`,
      event: here.ref,
    };
  }
  const k = sealed.indexOf(actual[i] ?? '');
  if (k >= 0) {
    return { rule: 'event-moved', message: `seal #${seal.sealNo}: ${describeRef(here.ref)} was sealed as #${place(k)}, not here`, event: here.ref };
  }
  return {
    rule: 'event-changed',
    message: `seal #${seal.sealNo}: ${describeRef(here.ref)} differs from the event sealed as #${place(i)} (its content was changed)`,
    event: here.ref,
  };
};

export type SealChecker = { see(e: RecordedEvent, ordinal: number): void; summary(): SealSummary; findings: Finding[] };

export const sealChecker = (): SealChecker => {
  const findings: Finding[] = [];
  let pending: Pending[] = [];
  let seals = 0;
  let verified = 0;
  let expectedNo = 1;
  let previousChain = GENESIS_CHAIN;
  let previousTo = 0;
  let newest: SealSummary['newest'] = null;

  const verify = (e: RecordedEvent, ref: EventRef): void => {
    seals += 1;
    const seal = readSeal(e);
    if (!seal) {
      findings.push({ check: 'seal', rule: 'seal-malformed', message: `${describeRef(ref)} is not a well-formed seal`, event: ref });
      return;
    }
    const problems: Omit<Finding, 'check'>[] = [];
    const missingSeal = seal.sealNo !== expectedNo;
    if (missingSeal) {
      problems.push({
        rule: 'seal-sequence',
        message: `seal #${seal.sealNo} follows seal #${expectedNo - 1}: ${seal.sealNo > expectedNo ? `seal(s) #${expectedNo}…#${seal.sealNo - 1} are missing` : 'a seal number is repeated'}`,
        event: ref,
      });
    } else if (seal.previous !== previousChain || seal.from !== previousTo + 1) {
      problems.push({
        rule: 'seal-not-chained',
        message: `seal #${seal.sealNo} does not continue seal #${seal.sealNo - 1} (its previous chain or first place differs)`,
        event: ref,
      });
    }
    const sealed = sealedDigests(seal);
    const count = seal.to - seal.from + 1;
    if (sealed.length !== count)
      problems.push({ rule: 'seal-malformed', message: `seal #${seal.sealNo} holds ${sealed.length} digests for ${count} events`, event: ref });

    const lastAt = pending.findIndex((p) => p.ref.eventId === seal.last.eventId && p.ref.streamId === seal.last.streamId);
    // Without a seal missing before it, the segment is everything since the previous seal's end.
    const start = lastAt >= 0 && missingSeal ? Math.max(0, lastAt + 1 - count) : 0;
    const end = lastAt >= 0 ? lastAt + 1 : Math.min(pending.length, count);
    const segment = pending.slice(start, end);
    const uncovered = pending[0];
    if (start > 0 && uncovered) {
      problems.push({
        rule: 'seal-missing',
        message: `${start} event(s) before seal #${seal.sealNo}'s segment are covered by no seal in the log`,
        event: uncovered.ref,
      });
    }
    let chain: Buffer = Buffer.from(seal.previous, 'hex');
    for (const p of segment) chain = chainStep(chain, p.leaf);
    if (chain.toString('hex') !== seal.chain || segment.length !== count) {
      const listed = segment.length === sealed.length && segment.every((p, i) => hexDigest(p.leaf) === sealed[i]);
      // The events are the ones the seal lists, yet the chain differs: the seal's own fields were edited.
      problems.push(
        listed
          ? { rule: 'seal-altered', message: `seal #${seal.sealNo}'s chain does not match the events it lists: the seal itself was altered`, event: ref }
          : locate(seal, segment, sealed),
      );
    }
    for (const p of problems) findings.push({ check: 'seal', ...p });
    if (problems.length === 0) verified += 1;
    pending = pending.slice(end);
    expectedNo = seal.sealNo + 1;
    previousChain = seal.chain;
    previousTo = seal.to;
    newest = { sealNo: seal.sealNo, at: seal.at, to: seal.to, chain: seal.chain };
  };

  return {
    findings,
    see: (e, ordinal) => {
      const ref = refOf(e, ordinal);
      if (isLedgerSealed(e)) verify(e, ref);
      pending.push({ leaf: leafOf(e), ref });
    },
    summary: () => ({ seals, verified, newest, unsealed: pending.filter((p) => p.ref.streamId !== SEALS_STREAM).length }),
  };
};

/**
 * `npm run audit` in one pass over the log: the seals (seals.ts), the log's shape (structure.ts),
 * every order and payment event re-decided with money and goods checked (verify-ledger.ts), and the
 * double-entry journal rebuilt and held against the deciders (journal.ts). Read-only.
 */
import { readLog, type EventStore } from '../../stores/event-store.ts';
import { firstPerStream, type Finding } from './finding.ts';
import { sealChecker, type SealSummary } from './seals.ts';
import { structureChecker } from './structure.ts';
import { journalChecker, type JournalAudit } from './journal.ts';
import { ledgerChecker, type LedgerSummary } from './verify-ledger.ts';

/** The journal rebuilt from the log (fen): does every day balance, and do the books hold the cash? */
export type AuditReport = LedgerSummary & {
  events: number;
  journal: JournalAudit;
  streams: number;
  seals: SealSummary;
  /** Every finding, in the order found. */
  findings: Finding[];
  /** The first finding of each stream (the one to read), with how many more that stream has. */
  first: { finding: Finding; more: number }[];
};

export type AuditOptions = {
  onProgress?: (events: number) => void;
  /** The audit's "now": what "today" is for revenue recognised so far, and for money in flight (default: the clock). */
  now?: Date;
  /** How long money may be in flight (a refund under way, a review pending) before it counts as stranded; default 24 h. */
  graceMs?: number;
};

export const auditLog = async (store: EventStore, opts: AuditOptions = {}): Promise<AuditReport> => {
  const seals = sealChecker();
  const structure = structureChecker();
  const ledger = ledgerChecker();
  const journal = journalChecker();
  let events = 0;
  for await (const e of readLog(store)) {
    events += 1;
    seals.see(e, events);
    structure.see(e, events);
    ledger.see(e, events);
    journal.see(e, events);
    if (events % 1000 === 0) opts.onProgress?.(events);
  }
  const now = opts.now ?? new Date();
  const summary = ledger.finish(now, opts.graceMs);
  const books = journal.finish(ledger.states(), now);
  const findings = [...seals.findings, ...structure.findings, ...ledger.findings, ...journal.findings];
  return { events, streams: structure.streams(), seals: seals.summary(), ...summary, journal: books, findings, first: firstPerStream(findings) };
};

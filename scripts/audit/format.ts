/** The audit report as an auditor reads it: ids, fen and rules, never a phone number. */
import { formatMoney } from '../../domain/money.ts';
import type { AuditReport } from './audit-log.ts';
import { describeRef } from './finding.ts';

const cny = (fen: number): string => formatMoney({ value: fen, currency: 'CNY' });
const counts = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

export const formatAudit = (r: AuditReport): string => {
  const s = r.seals;
  const seals =
    s.seals === 0
      ? `seals: none yet (npm run seal); ${s.unsealed} events not sealed`
      : `seals: ${s.verified} of ${s.seals} verified; newest #${s.newest?.sealNo} (${s.newest?.at}) covers events #1…#${s.newest?.to}, chain ${s.newest?.chain.slice(0, 16)}…; ${s.unsealed} events after it not sealed yet`;
  const streams = new Set(r.findings.flatMap((f) => (f.event ? [f.event.streamId] : []))).size;
  return [
    `audit of ${r.events} events in ${r.streams} streams`,
    seals,
    `orders:   ${counts(r.orders)}`,
    `payments: ${counts(r.payments)}`,
    `money: charged ${cny(r.money.charged)}, refunded ${cny(r.money.refunded)}, net ${cny(r.money.net)}, flagged for review ${cny(r.money.underReview)}`,
    `subscribers erased: ${r.erasedSubscribers} (their phone numbers read "erased"; their orders and money are audited as any others)`,
    formatJournalLine(r.journal),
    r.findings.length === 0
      ? 'no findings: every seal holds, every event is one the deciders would record, every fen is accounted for'
      : `${r.findings.length} FINDING(S) in ${streams} stream(s); the first of each stream:`,
    // A message that already names its event is not prefixed with it again.
    ...r.first.map(
      ({ finding: f, more }) =>
        `  - [${f.check} ${f.rule}] ${f.event && !f.message.includes(f.event.eventId) ? `${describeRef(f.event)}: ` : ''}${f.message}${more > 0 ? ` (+${more} more in this stream)` : ''}`,
    ),
    '',
  ].join('\n');
};

const formatJournalLine = (j: AuditReport['journal']): string =>
  `journal: ${j.entries} entries over ${j.days} day(s), ${j.unbalancedDays.length === 0 ? 'every day balanced' : `${j.unbalancedDays.length} day(s) NOT balanced`}; revenue recognised ${cny(j.recognised)} + deferred ${cny(j.deferred)} = cash kept ${cny(j.cashKept)}`;

/** The reconciliation report as the operator reads it: ids, statuses and fen only (never a phone number). */
import { RECONCILE_CLASSES, type Report } from './compare.ts';

const fen = (v: number | null): string => (v === null ? '—' : `${v} fen`);

export const formatReport = (r: Report): string =>
  [
    `events replayed: ${r.events}; payments: ${r.payments}, compared with the platform: ${r.checked}`,
    RECONCILE_CLASSES.map((c) => `${c}: ${r.counts[c]}`).join(', '),
    r.discrepancies.length === 0 ? 'no discrepancies' : `${r.discrepancies.length} DISCREPANC${r.discrepancies.length === 1 ? 'Y' : 'IES'}:`,
    ...r.discrepancies.map(
      (d) =>
        `  - ${d.class}: payment ${d.paymentId} (order ${d.orderId}, trade ${d.tradeNo ?? '—'}): ours ${d.ours} ${fen(d.ourFen)}, platform ${d.theirs} ${fen(d.theirFen)}`,
    ),
    ...(r.unchecked.length === 0 ? [] : [`${r.unchecked.length} payment(s) NOT CHECKED (the platform did not answer):`]),
    ...r.unchecked.map((u) => `  - payment ${u.paymentId} (order ${u.orderId}, ours ${u.ours}): ${u.error}`),
    '',
  ].join('\n');

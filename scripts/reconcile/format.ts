/** The reconciliation report as the operator reads it (text) or loads it (CSV): ids, statuses and fen only, never a phone number. */
import { RECONCILE_CLASSES, type DayReport, type Item } from './compare.ts';

const fen = (v: number | null): string => (v === null ? '—' : `${v} fen`);

const describe = (i: Item): string =>
  `  - ${i.class}: ${i.kind} of payment ${i.paymentId} (order ${i.orderId ?? '—'}, trade ${i.tradeNo ?? '—'}${i.refundNo ? `, refund ${i.refundNo}` : ''}): ` +
  `ours ${i.ours.status} ${fen(i.ours.fen)}, platform ${i.theirs ? `${i.theirs.status} ${fen(i.theirs.fen)} (line ${i.theirs.line})` : 'no line'}${i.detail ? `; ${i.detail}` : ''}`;

export const formatReport = (r: DayReport): string => {
  const open = r.items.filter((i) => i.class !== 'matched');
  return [
    `statement of ${r.day} (UTC+8): ${r.lines} line(s); our payments that day: ${r.payments}; grace window ${r.graceMinutes} min`,
    `platform totals: trades ${r.totals.trades} fen, refunds ${r.totals.refunds} fen, fees ${r.totals.fees} fen`,
    RECONCILE_CLASSES.map((c) => `${c}: ${r.counts[c]}`).join(', '),
    open.length === 0 ? 'every line and every payment matched' : `${open.length} NOT MATCHED:`,
    ...open.map(describe),
    '',
  ].join('\n');
};

const CSV_COLUMNS = [
  'class',
  'kind',
  'payment_id',
  'order_id',
  'trade_no',
  'refund_no',
  'our_status',
  'our_fen',
  'our_at',
  'platform_status',
  'platform_fen',
  'platform_fee_fen',
  'platform_time',
  'line',
  'detail',
];

/** RFC 4180 quoting where needed. */
const cell = (v: string | number | null): string => {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export const formatCsv = (r: DayReport): string =>
  [
    CSV_COLUMNS.join(','),
    ...r.items.map((i) =>
      [
        i.class,
        i.kind,
        i.paymentId,
        i.orderId,
        i.tradeNo,
        i.refundNo,
        i.ours.status,
        i.ours.fen,
        i.ours.at,
        i.theirs?.status ?? null,
        i.theirs?.fen ?? null,
        i.theirs?.fee ?? null,
        i.theirs?.time ?? null,
        i.theirs?.line ?? null,
        i.detail,
      ]
        .map(cell)
        .join(','),
    ),
    '',
  ].join('\n');

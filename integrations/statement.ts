/**
 * The payment platform's daily statement (API.md extension, README "partner contract"): the file
 * `GET /statements/{yyyy-mm-dd}` returns, as the platform publishes it for each day in China
 * Standard Time. Written by the simulator, read by `npm run reconcile`.
 *
 *   # tvpay payment platform statement
 *   # day: 2026-11-25 (UTC+8)
 *   trade_no,out_trade_no,refund_no,type,amount,fee,status,time
 *   T9f…,<paymentId>,,TRADE,38.00,0.23,SUCCESS,2026-11-25T16:00:01+08:00
 *   T9f…,<paymentId>,refund-<orderId>,REFUND,38.00,0.00,SUCCESS,2026-11-25T16:05:00+08:00
 *   # total: 2 lines
 *
 * One line per trade settled that day (SUCCESS, FAILED or CLOSED) and per refund made that day.
 * Amounts and fees are yuan with two decimals, read and written with integer arithmetic only.
 * Lines starting with '#' are comments; `# day:` names the day. Unknown columns are refused.
 */
import type { Money } from './ports.ts';

export const STATEMENT_COLUMNS = ['trade_no', 'out_trade_no', 'refund_no', 'type', 'amount', 'fee', 'status', 'time'] as const;
export const STATEMENT_HEADER = STATEMENT_COLUMNS.join(',');

export type StatementLine = {
  tradeNo: string;
  /** Our paymentId. */
  outTradeNo: string;
  /** REFUND lines only; '' on TRADE lines. */
  refundNo: string;
  type: 'TRADE' | 'REFUND';
  amount: Money;
  fee: Money;
  status: 'SUCCESS' | 'FAILED' | 'CLOSED';
  /** When the platform settled the trade or made the refund: ISO 8601 (UTC+8 in the file, UTC once read). */
  time: string;
};

export type Statement = { day: string | undefined; lines: (StatementLine & { lineNo: number })[] };

const CST_OFFSET_MS = 8 * 3_600_000;

/** The statement day (China Standard Time) of an instant. */
export const statementDay = (iso: string): string => new Date(Date.parse(iso) + CST_OFFSET_MS).toISOString().slice(0, 10);

/** "2026-11-25T16:00:01+08:00" for 2026-11-25T08:00:01Z. */
const cstTime = (iso: string): string => `${new Date(Date.parse(iso) + CST_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;

/** 3800 → "38.00"; integer arithmetic. */
export const formatYuan = (fen: number): string => `${fen < 0 ? '-' : ''}${Math.trunc(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

/** "38.00" → 3800, or undefined when it is not yuan with two decimals. */
export const parseYuan = (s: string): number | undefined => {
  const m = /^(-?)(\d{1,9})\.(\d{2})$/.exec(s);
  if (!m?.[2] || !m[3]) return undefined;
  const fen = Number(m[2]) * 100 + Number(m[3]);
  return m[1] === '-' ? -fen : fen;
};

export const renderStatement = (day: string, lines: readonly StatementLine[]): string =>
  [
    '# tvpay payment platform statement',
    `# day: ${day} (UTC+8)`,
    STATEMENT_HEADER,
    ...[...lines]
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
      .map((l) => [l.tradeNo, l.outTradeNo, l.refundNo, l.type, formatYuan(l.amount.value), formatYuan(l.fee.value), l.status, cstTime(l.time)].join(',')),
    `# total: ${lines.length} lines`,
    '',
  ].join('\n');

export class MalformedStatement extends Error {
  override readonly name = 'MalformedStatement';
}

const STATUSES: readonly StatementLine['status'][] = ['SUCCESS', 'FAILED', 'CLOSED'];
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Reads a statement, refusing anything it does not understand (naming the line). */
export const parseStatement = (text: string): Statement => {
  let day: string | undefined;
  let header = false;
  const lines: Statement['lines'] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const d = /^#\s*day:\s*(\d{4}-\d{2}-\d{2})\b/.exec(line)?.[1];
      if (d) day = d;
      continue;
    }
    const bad = (why: string): never => {
      throw new MalformedStatement(`line ${lineNo}: ${why}`);
    };
    if (!header) {
      if (line !== STATEMENT_HEADER) bad(`expected the header "${STATEMENT_HEADER}"`);
      header = true;
      continue;
    }
    const cells = line.split(',');
    if (cells.length !== STATEMENT_COLUMNS.length) bad(`expected ${STATEMENT_COLUMNS.length} columns, found ${cells.length}`);
    const [tradeNo = '', outTradeNo = '', refundNo = '', type = '', amount = '', fee = '', status = '', time = ''] = cells;
    if (type !== 'TRADE' && type !== 'REFUND') bad(`type must be TRADE or REFUND, not "${type}"`);
    const s = STATUSES.find((x) => x === status) ?? bad(`status must be SUCCESS, FAILED or CLOSED, not "${status}"`);
    const fen = parseYuan(amount) ?? bad(`amount "${amount}" is not yuan with two decimals`);
    const feeFen = parseYuan(fee) ?? bad(`fee "${fee}" is not yuan with two decimals`);
    if (outTradeNo === '') bad('out_trade_no is empty');
    if (type === 'REFUND' && refundNo === '') bad('a REFUND line needs its refund_no');
    if (!TIME.test(time) || Number.isNaN(Date.parse(time))) bad(`time "${time}" is not an ISO 8601 time with its offset`);
    lines.push({
      lineNo,
      tradeNo,
      outTradeNo,
      refundNo,
      type: type === 'TRADE' ? 'TRADE' : 'REFUND',
      amount: { value: fen, currency: 'CNY' },
      fee: { value: feeFen, currency: 'CNY' },
      status: s,
      time: new Date(time).toISOString(),
    });
  }
  if (!header) throw new MalformedStatement('no header line: not a statement');
  return { day, lines };
};

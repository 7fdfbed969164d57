/** How the demo prints: step headings, ✓/✗ lines, money in yuan, phone numbers masked. */

import { formatMoney } from '../../domain/money.ts';

/** Integer fen, as the API answers it → '¥38.00' (the ledger's one money formatter). */
export const yuan = (m: { value: number; currency: string }): string => {
  if (m.currency !== 'CNY') throw new Error(`the API answered money in ${m.currency}`);
  return formatMoney({ value: m.value, currency: m.currency });
};

/** '13800138000', '+8613800138000' → '138****8000', the way the API shows numbers. */
export const maskMsisdn = (msisdn: string): string => {
  const national = msisdn.replace(/^\+?86(?=1\d{10}$)/, '');
  return national.length >= 7 ? `${national.slice(0, 3)}****${national.slice(-4)}` : '****';
};

/** Phone numbers inside a text (e.g. a message recipient), masked. */
export const maskNumbersIn = (text: string): string => text.replace(/(?:\+?86)?1[3-9]\d{9}/g, maskMsisdn);

/** A one-time code inside an SMS text, hidden: the demo reads it, the screen does not show it. */
export const hideCode = (text: string): string => text.replace(/(验证码)\d{6}/g, '$1••••••');

/** '2026-11-25T08:00:00.000Z' → '2026-11-25 08:00:00 UTC'. */
export const when = (iso: unknown): string =>
  typeof iso === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : String(iso);

let narration: { write(text: string): unknown } = process.stdout;

/** Where the narration goes: stdout, or stderr when stdout carries the JSON report. */
export const narrateTo = (stream: { write(text: string): unknown }): void => {
  narration = stream;
};

const out = (line: string): void => {
  narration.write(`${line}\n`);
};

export const say = {
  title: (text: string) => out(`\n${text}\n${'═'.repeat(Math.min(72, text.length))}`),
  step: (n: number, text: string) => out(`\n[${n}] ${text}`),
  ok: (text: string) => out(`    ✓ ${text}`),
  refused: (text: string) => out(`    ✗ ${text}`),
  info: (text: string) => out(`      ${text}`),
  line: (text = '') => out(text),
};

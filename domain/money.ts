/** Money is an integer count of fen (1/100 yuan) with its currency. Never a float. */
export type Currency = 'CNY';
export type Money = { value: number; currency: Currency };

export const cny = (fen: number): Money => {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`not a fen amount: ${fen}`);
  return { value: fen, currency: 'CNY' };
};

export const sameMoney = (a: Money, b: Money): boolean => a.value === b.value && a.currency === b.currency;

/** "¥38.00" — integer arithmetic only. */
export const formatMoney = (m: Money): string =>
  `¥${Math.trunc(m.value / 100)}.${String(m.value % 100).padStart(2, '0')}`;

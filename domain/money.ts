/** Money is an integer count of fen (1/100 yuan) with its currency. Never a float. */
export type Currency = 'CNY';
export type Money = { value: number; currency: Currency };

export const cny = (fen: number): Money => {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`not a fen amount: ${fen}`);
  return { value: fen, currency: 'CNY' };
};

export const sameMoney = (a: Money, b: Money): boolean => a.value === b.value && a.currency === b.currency;

const CNY = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY' });

/**
 * The one money formatter: "¥38.00", "-¥1.50", "¥1,234,567.89". The fen are written out as an exact
 * decimal string for Intl to format, never turned into a float.
 */
export const formatMoney = (m: Money): string => {
  const fen = Math.abs(m.value);
  const decimal = `${m.value < 0 ? '-' : ''}${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}` as `${number}`;
  return CNY.format(decimal);
};

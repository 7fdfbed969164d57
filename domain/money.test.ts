import { describe, expect, it } from 'vitest';
import { cny, formatMoney, sameMoney } from './money.ts';

describe('cny', () => {
  it.each([0, 1, 3800, Number.MAX_SAFE_INTEGER])('accepts %i fen', (fen) => {
    expect(cny(fen)).toEqual({ value: fen, currency: 'CNY' });
  });

  it.each([38.5, 0.1, -1, -0.5, Number.MAX_SAFE_INTEGER + 1, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects %d (not a non-negative safe integer of fen)',
    (fen) => {
      expect(() => cny(fen)).toThrow(RangeError);
      expect(() => cny(fen)).toThrow(/not a fen amount/);
    },
  );
});

describe('sameMoney', () => {
  it('compares value and currency', () => {
    expect(sameMoney(cny(3800), cny(3800))).toBe(true);
    expect(sameMoney(cny(3800), cny(3801))).toBe(false);
  });
});

describe('formatMoney', () => {
  it.each([
    [0, '¥0.00'],
    [5, '¥0.05'],
    [50, '¥0.50'],
    [100, '¥1.00'],
    [1800, '¥18.00'],
    [3899, '¥38.99'],
    [38000, '¥380.00'],
    [1_234_567, '¥12,345.67'],
    [Number.MAX_SAFE_INTEGER, '¥90,071,992,547,409.91'],
  ])('%i fen → %s', (fen, text) => {
    expect(formatMoney(cny(fen))).toBe(text);
  });

  it.each([
    [-1, '-¥0.01'],
    [-150, '-¥1.50'],
    [-3800, '-¥38.00'],
    [-1_234_567, '-¥12,345.67'],
  ])('a negative amount (a day of refunds) %i fen → %s', (fen, text) => {
    expect(formatMoney({ value: fen, currency: 'CNY' })).toBe(text);
  });
});

import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff.ts';

describe('backoff', () => {
  const b = { baseMs: 100, maxDelayMs: 1000 };

  it('doubles the ceiling per failed attempt from baseMs, up to maxDelayMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(b, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('treats attempt 0 or below as the first', () => {
    expect(backoffCeiling(b, 0)).toBe(100);
    expect(backoffCeiling(b, -3)).toBe(100);
  });

  it('jitters over the whole range below the ceiling, whole milliseconds', () => {
    expect(backoffDelay(b, 3, 0)).toBe(0);
    expect(backoffDelay(b, 3, 0.5)).toBe(200);
    expect(backoffDelay(b, 3, 0.999999)).toBe(399);
    expect(backoffDelay(b, 10, 0.5)).toBe(500);
  });
});

/** What the app's pino logger writes, kept for a test to read: as text, or as parsed lines. */
import { expect } from 'vitest';
import { startTestLedger, type TestLedger } from './ledger-app.ts';

export type LogLine = Record<string, unknown> & { level: number; msg: string };
export type Captured = { write: (s: string) => void; text: () => string; lines: () => LogLine[] };

/** A destination for a logger (createLogger, or startTestLedger's logDestination). */
export const logCapture = (): Captured => {
  const raw: string[] = [];
  return {
    write: (s) => void raw.push(s),
    text: () => raw.join(''),
    lines: () =>
      raw
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogLine),
  };
};

/** What a fresh ledger logs at `level` while `act` drives it; closed after, also when `act` failed. */
export const loggedWhile = async (level: string, act: (t: TestLedger) => Promise<void>, opts: { process?: boolean } = {}): Promise<Captured> => {
  const out = logCapture();
  const t = await startTestLedger({ LOG_LEVEL: level }, { ...opts, logDestination: out });
  try {
    await act(t);
  } finally {
    await t.close();
  }
  return out;
};

/** A wrong code refused (422), then the right one accepted: returns both, for a test to look for in the log. */
export const confirmAfterAWrongCode = async (t: TestLedger, paymentId: string): Promise<string[]> => {
  const right = t.codeFor(paymentId);
  const wrong = right === '111111' ? '222222' : '111111';
  expect((await t.confirm(paymentId, wrong)).statusCode).toBe(422);
  expect((await t.confirm(paymentId, right)).statusCode).toBe(200);
  return [right, wrong];
};

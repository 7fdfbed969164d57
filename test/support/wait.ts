/**
 * The one way tests wait: poll a condition until it holds, with a deadline. Never a fixed sleep —
 * the interval only spaces the polls (an HTTP round trip, a store read) so they do not starve the
 * processes under test on a 2-core machine.
 */

export class Timeout extends Error {
  override readonly name = 'Timeout';
}

/** Thrown by a probe to stop waiting at once (the outcome can no longer happen). */
export class GiveUp extends Error {
  override readonly name = 'GiveUp';
}

export type WaitOptions = {
  /** Default 15 s. */
  timeoutMs?: number;
  /** Between polls; default 50 ms. */
  intervalMs?: number;
  /** Runs before each poll after the first (a test clock moving forward, say). */
  beforeRetry?: () => void;
};

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that. A probe
 * that throws is polled again (its last error is reported on timeout), unless it throws GiveUp.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string | (() => string),
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let first = true; ; first = false) {
    if (!first) opts.beforeRetry?.();
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const label = typeof what === 'string' ? what : what();
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Timeout(`timed out after ${timeoutMs} ms waiting for ${label}${cause}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/**
 * The one progress display of every script: a line on stderr redrawn in place (a bar when the total is
 * known, done, rate, ETA), drawn only when stderr is a terminal. Off a terminal (logs, CI, pipes) it
 * writes nothing at all, so a log file never fills with redraws and machine output stays clean.
 */
export type Progress = {
  /** Reports `done` items so far, of `total` when known (may be an estimate). Throttled. */
  update(done: number, total?: number | null): void;
  /** A one-line status (a phase starting), on its own line; like the bar, only on a terminal. */
  note(text: string): void;
  /** Ends the bar's line, so what follows starts on a line of its own. */
  end(): void;
};

/** Where progress goes: stderr by default. */
export type ProgressStream = { isTTY?: boolean; write(text: string): unknown };

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

const NO_PROGRESS: Progress = { update: () => undefined, note: () => undefined, end: () => undefined };

const compact = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n)));

const duration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export const progress = (label: string, stream: ProgressStream = process.stderr, unit = 'events'): Progress => {
  if (stream.isTTY !== true) return NO_PROGRESS;
  const started = performance.now();
  let shown = -Infinity;
  let drawn = false;
  const end = (): void => {
    if (drawn) stream.write('\n');
    drawn = false;
  };
  return {
    update(done, total) {
      const now = performance.now();
      if (now - shown < REDRAW_MS) return;
      shown = now;
      const rate = done / Math.max((now - started) / 1000, 0.001);
      const share = total ? Math.min(1, done / total) : null;
      const eta = total && rate > 0 ? duration((total - done) / rate) : '?';
      const filled = Math.round((share ?? 0) * BAR_WIDTH);
      const bar = share === null ? '' : ` [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(1).padStart(5)}%`;
      const counts = `${compact(done)}${total ? `/${compact(total)}` : ''} ${unit}, ${compact(rate)} ${unit}/s, ETA ${eta}`;
      stream.write(`\r${label}${bar} ${counts}\x1b[K`);
      drawn = true;
    },
    note(text) {
      end();
      stream.write(`${label}: ${text}\n`);
    },
    end,
  };
};

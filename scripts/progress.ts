/**
 * Progress of a long CLI job on stderr: a bar redrawn in place on a terminal (done/total, rate, ETA),
 * plain lines every few seconds otherwise (logs, CI, pipes), so a log file never fills with redraws.
 */
export type Progress = {
  /** `total` may be an estimate, or null when unknown. */
  update(done: number, total: number | null, unit: string): void;
  /** Ends the bar's line, so what follows starts on a line of its own. */
  end(): void;
};

/** Where progress goes: stderr by default. */
export type ProgressStream = { isTTY?: boolean; write(text: string): unknown };

export type ProgressOptions = {
  stream?: ProgressStream;
  /** Between plain lines when the stream is not a terminal. */
  lineEveryMs?: number;
};

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

const compact = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));

const duration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export const progress = (label: string, opts: ProgressOptions = {}): Progress => {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const every = tty ? REDRAW_MS : (opts.lineEveryMs ?? 5000);
  const started = performance.now();
  let shown = -Infinity;
  let drawn = false;
  return {
    update(done, total, unit) {
      const now = performance.now();
      if (now - shown < every) return;
      shown = now;
      const seconds = (now - started) / 1000;
      const rate = done / Math.max(seconds, 0.001);
      const share = total ? Math.min(1, done / total) : null;
      const eta = total && rate > 0 ? duration((total - done) / rate) : '?';
      const counts = `${compact(done)}${total ? `/${compact(total)}` : ''} ${unit}, ${compact(rate)} ${unit}/s, ETA ${eta}`;
      if (tty) {
        const filled = Math.round((share ?? 0) * BAR_WIDTH);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
        const pct = share === null ? '' : ` ${(share * 100).toFixed(1).padStart(5)}%`;
        stream.write(`\r${label} ${bar}${pct} ${counts}`.padEnd(100));
        drawn = true;
      } else {
        stream.write(`${label}: ${share === null ? '' : `${(share * 100).toFixed(1)}% `}${counts}\n`);
      }
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
};

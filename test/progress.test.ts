/** The one CLI progress display (scripts/progress.ts): redrawn in place on a terminal, nothing at all elsewhere. */
import { describe, expect, it } from 'vitest';
import { progress, type ProgressStream } from '../scripts/progress.ts';

const sink = (isTTY: boolean | undefined): { stream: ProgressStream; text(): string } => {
  let text = '';
  return { stream: { ...(isTTY !== undefined && { isTTY }), write: (chunk: string) => (text += chunk) }, text: () => text };
};

describe('progress', () => {
  it('on a terminal, redraws one line: a bar, done of total, rate and ETA; then ends the line', () => {
    const out = sink(true);
    const bar = progress('rebuild', out.stream);
    bar.update(250_000, 1_000_000);
    bar.end();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws its line with an ANSI erase
    expect(out.text()).toMatch(/^\rrebuild \[#{7}\.{21}\] {2}25\.0% 250\.0k\/1\.00M events, [\d.]+[kM]? events\/s, ETA \S+\x1b\[K\n$/);
  });

  it('redraws at most every 100 ms', () => {
    const out = sink(true);
    const bar = progress('audit', out.stream);
    bar.update(1);
    bar.update(2);
    expect(out.text().split('\r')).toHaveLength(2);
  });

  it('without a total, shows what is done and the rate; a note ends the bar and stands on its own line', () => {
    const out = sink(true);
    const bar = progress('copy', out.stream, 'keys');
    bar.update(42, null);
    bar.note('verifying');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws its line with an ANSI erase
    expect(out.text()).toMatch(/^\rcopy 42 keys, [\d.]+[kM]? keys\/s, ETA \?\x1b\[K\ncopy: verifying\n$/);
  });

  it('off a terminal (a pipe, a log file, CI), writes nothing at all', () => {
    for (const isTTY of [false, undefined]) {
      const out = sink(isTTY);
      const bar = progress('rebuild', out.stream);
      bar.update(10, 100);
      bar.note('switching');
      bar.end();
      expect(out.text()).toBe('');
    }
  });
});

/** The CLI progress display: a bar redrawn in place on a terminal, plain lines elsewhere. */
import { describe, expect, it } from 'vitest';
import { progress, type ProgressStream } from '../scripts/progress.ts';

const sink = (isTTY: boolean): { stream: ProgressStream; text(): string } => {
  let text = '';
  return { stream: { isTTY, write: (chunk: string) => (text += chunk) }, text: () => text };
};

describe('progress', () => {
  it('on a terminal, redraws one line: a bar, done of total, rate and ETA', () => {
    const out = sink(true);
    const bar = progress('rebuild', { stream: out.stream });
    bar.update(250_000, 1_000_000, 'events');
    bar.end();
    expect(out.text()).toMatch(/^\rrebuild \[#{7}\.{21}\]  25\.0% 250\.0k\/1\.00M events, [\d.]+[kM]? events\/s, ETA \S+ *\n$/);
  });

  it('elsewhere, writes plain lines, at most one per interval, and no carriage returns', () => {
    const out = sink(false);
    const bar = progress('rebuild', { stream: out.stream, lineEveryMs: 60_000 });
    bar.update(10, 100, 'events');
    bar.update(20, 100, 'events'); // within the interval: not written
    bar.end();
    expect(out.text()).toMatch(/^rebuild: 10\.0% 10\/100 events, [\d.]+[kM]? events\/s, ETA \S+\n$/);
  });

  it('without a total, shows what is done and the rate', () => {
    const out = sink(false);
    progress('copy', { stream: out.stream }).update(42, null, 'events');
    expect(out.text()).toMatch(/^copy: 42 events, [\d.]+[kM]? events\/s, ETA \?\n$/);
  });
});

/**
 * The retention task on its own: who it erases (everyone the read model calls quiet, page after page),
 * whom it leaves for the next run (an order in flight), and when it runs (at once, then daily; a failed
 * run again in 15 minutes; stopped, it finishes the erasure in hand and runs no more).
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SubscriberHasOrdersInFlight } from '../domain/errors.ts';
import type { Erasure } from './erase-subscriber.ts';
import { runRetention, startRetention, type RetentionDeps } from './pii-retention.ts';

const NOW = new Date('2026-11-25T08:00:00.000Z');
const silent = pino({ level: 'silent' });

/** A read model of quiet subscribers (by last activity) and an erase that records what it was asked. */
const fakes = (lastActivity: Record<string, string>, inFlight: string[] = []) => {
  const erased: string[] = [];
  const asked: { cutoff: string; limit: number }[] = [];
  const deps: RetentionDeps = {
    days: 30,
    now: () => NOW,
    logger: silent,
    // Keyset pages on (last activity, id), as the read store pages: erasing what was read does not move the cursor.
    quiet: async (cutoff, limit, cursor) => {
      asked.push({ cutoff: cutoff.toISOString(), limit });
      const key = ([id, at]: [string, string]) => `${at}|${id}`;
      const all = Object.entries(lastActivity)
        .filter(([id, at]) => at < cutoff.toISOString() && !erased.includes(id) && (cursor === undefined || key([id, at]) > cursor))
        .sort((x, y) => (key(x) < key(y) ? -1 : 1));
      const page = all.slice(0, limit);
      const last = page.at(-1);
      return { subscriberIds: page.map(([id]) => id), nextCursor: all.length > limit && last ? key(last) : null };
    },
    erase: async (subscriberId): Promise<Erasure> => {
      if (inFlight.includes(subscriberId)) throw new SubscriberHasOrdersInFlight(subscriberId, ['o-1']);
      erased.push(subscriberId);
      return { subscriberId, status: 'erased', reason: 'retention', erasedAt: NOW.toISOString(), keysDestroyed: 1, plainNumbersInLog: false };
    },
  };
  return { deps, erased, asked };
};

afterEach(() => vi.useRealTimers());

describe('one run', () => {
  it('erases only who has been quiet longer than the retention, asking the read model for everyone before now − days', async () => {
    const { deps, erased, asked } = fakes({
      old: '2026-09-01T00:00:00.000Z',
      edge: '2026-10-26T07:59:59.999Z',
      recent: '2026-10-26T08:00:00.000Z',
      today: NOW.toISOString(),
    });
    const run = await runRetention(deps);
    expect(asked[0]?.cutoff).toBe('2026-10-26T08:00:00.000Z');
    expect(erased).toEqual(['old', 'edge']);
    expect(run).toEqual({ cutoff: '2026-10-26T08:00:00.000Z', erased: ['old', 'edge'], leftInFlight: [] });
  });

  it('leaves a subscriber with an order in flight for the next run, and goes on with the others', async () => {
    const { deps, erased } = fakes({ a: '2026-01-01T00:00:00.000Z', b: '2026-01-02T00:00:00.000Z', c: '2026-01-03T00:00:00.000Z' }, ['b']);
    expect(await runRetention(deps)).toMatchObject({ erased: ['a', 'c'], leftInFlight: ['b'] });
    expect(erased).toEqual(['a', 'c']);
  });

  it('pages through many quiet subscribers', async () => {
    const many = Object.fromEntries(
      Array.from({ length: 450 }, (_, i) => [`s-${String(i).padStart(3, '0')}`, `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`]),
    );
    const { deps, erased, asked } = fakes(many);
    await runRetention(deps);
    expect(erased).toHaveLength(450);
    expect(asked.length).toBeGreaterThan(1);
  });

  it('any other failure ends the run with it', async () => {
    const { deps } = fakes({ a: '2026-01-01T00:00:00.000Z' });
    await expect(runRetention({ ...deps, erase: async () => Promise.reject(new Error('key store down')) })).rejects.toThrow('key store down');
  });
});

describe('the daily task', () => {
  it('runs at once, then every 24 hours; a failed run again in 15 minutes; stopped, it runs no more', async () => {
    vi.useFakeTimers();
    let runs = 0;
    let failNext = false;
    const { deps } = fakes({});
    const task = startRetention({
      ...deps,
      quiet: async (...args) => {
        runs++;
        if (failNext) {
          failNext = false;
          throw new Error('read model behind');
        }
        return deps.quiet(...args);
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(24 * 3600_000 - 1);
    expect(runs).toBe(1);
    failNext = true;
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    expect(runs).toBe(3);
    await task.stop();
    await vi.advanceTimersByTimeAsync(48 * 3600_000);
    expect(runs).toBe(3);
  });
});

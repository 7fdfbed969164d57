/** Requests raced against each other, and a count of what they wrote, to assert in one go. */
import type { RecordedEvent } from '../../stores/event-store.ts';

/** `n` requests sent at once (the i-th by `send(i)`): their answers, in the order sent. */
export const atOnce = <T>(n: number, send: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => send(i)));

/** How many events there are of each of `types`. */
export const tally = (events: readonly RecordedEvent[], ...types: string[]): Record<string, number> =>
  Object.fromEntries(types.map((type) => [type, events.filter((e) => e.type === type).length]));

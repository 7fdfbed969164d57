/**
 * Given / when / then for deciders (test code only, never imported by production code).
 *
 *   spec(orderDecider).given(placed, paid).when(markPaid(...)).thenNothing();
 *
 * `given` folds the events with `evolve` from `initialState`; `when` runs `decide` on the
 * result. Each `then*` asserts with vitest's expect and returns what decide returned.
 */
import { expect } from 'vitest';

export type Decider<C, E, S> = {
  decide: (cmd: C, state: S) => E[];
  evolve: (state: S, event: E) => S;
  initialState: S;
};

/** Any error constructor, whatever its parameters. */
export type ErrorClass<T extends Error = Error> = abstract new (...args: never[]) => T;

export type Then<E, S> = {
  /** decide returned exactly these events, in this order. */
  then: (...expected: E[]) => E[];
  /** decide returned no event ("already so"). */
  thenNothing: () => E[];
  /** decide threw this class of error; `details` (if given) is a subset of the error's `details`. */
  thenThrows: (errorClass: ErrorClass, details?: Record<string, string | number>) => void;
  /** The state the given events fold into (for checks on evolve). */
  state: S;
};

export const spec = <C, E, S>(decider: Decider<C, E, S>) => ({
  given: (...history: E[]) => {
    const state = history.reduce(decider.evolve, decider.initialState);
    return {
      state,
      when: (command: C): Then<E, S> => {
        const run = (): E[] => decider.decide(command, state);
        return {
          state,
          then: (...expected) => {
            const events = run();
            expect(events).toEqual(expected);
            return events;
          },
          thenNothing: () => {
            const events = run();
            expect(events).toEqual([]);
            return events;
          },
          thenThrows: (errorClass, details) => {
            let thrown: unknown;
            try {
              run();
            } catch (error) {
              thrown = error;
            }
            expect(thrown, 'decide should have thrown').toBeInstanceOf(errorClass);
            if (details) expect(thrown).toMatchObject({ details });
          },
        };
      },
    };
  },
});

/**
 * Reading stored events back as one decider's events. Stored events were written by that decider
 * (schema version 1): the type selects the shape, so the type is all there is to check.
 */

/**
 * The reader of a decider's events `E`: a stored event as one of them, or undefined for a type not in
 * `types`. `types` lists every type of `E` (pass `E` explicitly): a new event type that is not listed
 * fails the typecheck.
 */
export const eventReader =
  <E extends { type: string; data: object }>(types: Record<E['type'], true>) =>
  (e: { type: string; data: Record<string, unknown> }): E | undefined =>
    Object.hasOwn(types, e.type) ? ({ type: e.type, data: e.data } as E) : undefined;

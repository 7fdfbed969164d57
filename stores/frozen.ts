/**
 * Deep-freezing values that several readers share (a log's cached events, a stream's cached state):
 * a reader that tried to change one would change it for all the others, so it throws instead.
 * Already-frozen parts are skipped, so freezing a value built on a frozen one costs only its new parts.
 */
export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
};

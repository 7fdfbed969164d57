/**
 * A sleep that can be cut short: background loops pause between rounds and wake at
 * once on stop. Waking is final: once woken, every later pause returns at once too,
 * so a stop that lands between two pauses is never missed.
 */
export type Pauser = { pause(ms: number): Promise<void>; wake(): void };

export const pauser = (): Pauser => {
  let woken = false;
  let cutShort: () => void = () => {};
  return {
    pause: (ms) =>
      woken
        ? Promise.resolve()
        : new Promise((resolve) => {
            const timer = setTimeout(resolve, ms);
            cutShort = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
    wake: () => {
      woken = true;
      cutShort();
    },
  };
};

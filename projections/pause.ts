/** A sleep that can be cut short: background loops pause between rounds and wake at once on stop. */
export type Pauser = { pause(ms: number): Promise<void>; wake(): void };

export const pauser = (): Pauser => {
  let wake: () => void = () => {};
  return {
    pause: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    wake: () => wake(),
  };
};

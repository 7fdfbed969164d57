/** Ends every switch over a union: adding a member without handling it is a compile error. */
export const assertNever = (x: never): never => {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
};

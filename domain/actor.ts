/** Who acted, as an event records it: the role and client of the token, and the person behind a named one. */
export type Actor = { role: string; client: string; name?: string };

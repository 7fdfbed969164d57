// The signed-in agent. The token lives in sessionStorage only (this tab, until it closes or the
// agent signs out), never in localStorage, a cookie or the URL. A console left alone for
// IDLE_MINUTES signs itself out; so does one whose token the service no longer accepts.

const KEY = 'tvpay.console.session';
export const IDLE_MINUTES = 30;
const IDLE_MS = IDLE_MINUTES * 60_000;

const listeners = new Set();
/** Called with the reason ('expired', 'revoked', 'signed-out') whenever the session ends. */
export const onSessionEnd = (fn) => listeners.add(fn);

const read = () => {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    return s && typeof s.token === 'string' && Array.isArray(s.routes) ? s : null;
  } catch {
    return null;
  }
};

const end = (reason) => {
  const had = sessionStorage.getItem(KEY) !== null;
  sessionStorage.removeItem(KEY);
  if (had) for (const fn of listeners) fn(reason);
};

/** The live session, or null (and the session ends) when there is none or it has been idle too long. */
export const current = () => {
  const s = read();
  if (!s) return null;
  if (Date.now() - s.lastActive > IDLE_MS) {
    end('expired');
    return null;
  }
  return s;
};

/** The agent did something: the idle clock starts again. */
export const touch = () => {
  const s = read();
  if (s && Date.now() - s.lastActive <= IDLE_MS) sessionStorage.setItem(KEY, JSON.stringify({ ...s, lastActive: Date.now() }));
};

export const signOut = () => end('signed-out');
export const revoked = () => end('revoked');

/**
 * Signs in: asks the service who the token belongs to. Resolves to the session, or to
 * { refused: 'bad' | 'wrongRole' | 'network' }.
 */
export const signIn = async (token) => {
  let res;
  try {
    res = await fetch('/console/api/session', { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, cache: 'no-store' });
  } catch {
    return { refused: 'network' };
  }
  if (res.status === 401) return { refused: 'bad' };
  if (res.status === 403) return { refused: 'wrongRole' };
  if (!res.ok) return { refused: 'network' };
  const who = await res.json();
  const s = { token, role: who.role, name: who.name, client: who.client, routes: who.routes, lastActive: Date.now() };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
};

/** Whether the signed-in role may call the API route (`GET /v1/orders/:orderId`), as the service declares it. */
export const may = (method, route) => current()?.routes.includes(`${method} ${route}`) ?? false;

// The clock runs while the tab is open: an idle console goes back to sign-in by itself.
setInterval(current, 15_000);
for (const type of ['keydown', 'pointerdown']) addEventListener(type, touch, { capture: true, passive: true });

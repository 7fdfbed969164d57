/**
 * The simulators as real HTTP servers on 127.0.0.1, speaking API.md's contracts over the same cores
 * the in-process mode uses. Each kind listens on its own port. Inspection and fault endpoints live
 * under /_sim/ and are never subject to injected faults:
 *   GET  /_sim/faults, POST /_sim/faults {partial faults}            (every kind)
 *   GET  /_sim/trades, /_sim/refunds, /_sim/notifications           (platform)
 * and, besides the API calls, the platform's daily statement (signed like every API call):
 *   GET  /statements/{yyyy-mm-dd}   CSV (integrations/statement.ts); 404 until the day has ended (UTC+8)
 *   GET  /_sim/entitlements                                         (boss)
 *   GET  /_sim/messages?msisdn=…|smartcardId=…[&waitMs=…]            (sms; waitMs ≤ 30000: when nothing
 *                                                                     matches yet, answers at the first match)
 *   GET  /_sim/calls                                                 (every kind: each API call received,
 *        with its Idempotency-Key and the caller's User-Agent, so tests can prove who called what how often)
 *   GET  /_sim/cpu                                                   (every kind: the CPU this process has
 *        used, `{ userMicros, systemMicros }`, so a bench can count the simulators' share of the machine)
 * Errors are problem+json; an injected failure answers its status (503), a refusal 422.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundError } from '../ports.ts';
import { SIGNATURE_HEADER, verify } from '../signature.ts';
import type { z } from 'zod';
import { createTradeRequest, openEntitlementRequest, refundRequest, revokeRequest, smsRequest } from '../contract.ts';
import { createPlatformSimulator, type PlatformSimulator, type PlatformSimulatorOptions } from './payment-platform.ts';
import { createBossSimulator, type BossSimulator, type BossSimulatorOptions } from './boss.ts';
import { createSmsSimulator, type SmsSimulator, type SmsSimulatorOptions } from './sms.ts';

export type SimRequest = { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers']; rawBody: string };
export type SimReply = { status: number; json?: unknown; text?: string; contentType?: string };
export type SimHandler = (req: SimRequest) => Promise<SimReply>;

const MAX_BODY_BYTES = 1_000_000;
/** The longest a GET /_sim/messages?waitMs= waits for a first matching message. */
const MAX_WAIT_MS = 30_000;

class BadRequest extends Error {}

const problem = (status: number, title: string, detail?: string): SimReply => ({
  status,
  json: { type: 'about:blank', title, status, ...(detail ? { detail } : {}) },
});

/** The request body, as the partner's contract says it must be; anything else is a 400 naming the fields. */
function parseRequest<T>(rawBody: string, schema: z.ZodType<T>): T {
  let v: unknown;
  try {
    v = JSON.parse(rawBody);
  } catch {
    throw new BadRequest('body is not JSON');
  }
  const checked = schema.safeParse(v);
  if (!checked.success) throw new BadRequest(checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return checked.data;
}

function parseJson(rawBody: string): unknown {
  try {
    return JSON.parse(rawBody);
  } catch {
    throw new BadRequest('body is not JSON');
  }
}

/** Answers /_sim/faults for any simulator; null when the path is not the faults endpoint. */
async function faultsRoute(req: SimRequest, sim: { faults(): unknown; setFaults(patch: unknown): unknown }): Promise<SimReply | null> {
  if (req.path !== '/_sim/faults') return null;
  if (req.method === 'GET') return { status: 200, json: sim.faults() };
  if (req.method === 'POST') return { status: 200, json: sim.setFaults(parseJson(req.rawBody)) };
  return problem(405, 'Method Not Allowed');
}

export function platformHandler(sim: PlatformSimulator, secrets: readonly string[], nowMs: () => number = Date.now): SimHandler {
  return async (req) => {
    const simRoute = await faultsRoute(req, sim);
    if (simRoute) return simRoute;
    if (req.method === 'GET' && req.path === '/_sim/trades') return { status: 200, json: sim.trades() };
    if (req.method === 'GET' && req.path === '/_sim/refunds') return { status: 200, json: sim.refunds() };
    if (req.method === 'GET' && req.path === '/_sim/notifications') return { status: 200, json: sim.notifications() };

    // The platform checks our signature on every API call, like we check its notifications.
    const header = req.headers[SIGNATURE_HEADER];
    const check = verify(typeof header === 'string' ? header : undefined, req.rawBody, secrets, nowMs() / 1000);
    if (!check.ok) return problem(401, 'Unauthorized', `signature ${check.reason}`);

    if (req.method === 'POST' && req.path === '/trades') return { status: 200, json: await sim.createTrade(parseRequest(req.rawBody, createTradeRequest)) };
    const trade = /^\/trades\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && trade?.[1]) {
      const found = await sim.queryTrade(decodeURIComponent(trade[1]));
      return found ? { status: 200, json: found } : problem(404, 'Not Found', 'unknown outTradeNo');
    }
    if (req.method === 'POST' && req.path === '/refunds') return { status: 200, json: await sim.refund(parseRequest(req.rawBody, refundRequest)) };
    const statement = /^\/statements\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && statement?.[1]) {
      const day = decodeURIComponent(statement[1]);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new BadRequest('day: expected yyyy-mm-dd');
      const csv = sim.statement(day);
      if (csv === undefined) return problem(404, 'Not Found', `the statement of ${day} is published after the day ends (UTC+8)`);
      return { status: 200, text: csv, contentType: 'text/csv; charset=utf-8' };
    }
    return problem(404, 'Not Found');
  };
}

export function bossHandler(sim: BossSimulator, token: string | undefined): SimHandler {
  return async (req) => {
    const simRoute = await faultsRoute(req, sim);
    if (simRoute) return simRoute;
    if (req.method === 'GET' && req.path === '/_sim/entitlements') return { status: 200, json: sim.inspect() };
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return problem(401, 'Unauthorized');

    if (req.method === 'POST' && req.path === '/entitlements')
      return { status: 200, json: await sim.openEntitlement(parseRequest(req.rawBody, openEntitlementRequest)) };
    const revoke = /^\/entitlements\/([^/]+)\/revoke$/.exec(req.path);
    if (req.method === 'POST' && revoke?.[1]) {
      await sim.revoke(decodeURIComponent(revoke[1]), parseRequest(req.rawBody, revokeRequest));
      return { status: 200, json: { status: 'REVOKED' } };
    }
    return problem(404, 'Not Found');
  };
}

export function smsHandler(sim: SmsSimulator): SimHandler {
  return async (req) => {
    const simRoute = await faultsRoute(req, sim);
    if (simRoute) return simRoute;
    if (req.method === 'GET' && req.path === '/_sim/messages') {
      const msisdn = req.query.get('msisdn');
      const smartcardId = req.query.get('smartcardId');
      const filter = { ...(msisdn ? { msisdn } : {}), ...(smartcardId ? { smartcardId } : {}) };
      const waitMs = Number(req.query.get('waitMs') ?? 0);
      if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS)
        return problem(400, 'Bad Request', `waitMs must be an integer from 0 to ${MAX_WAIT_MS}`);
      if (waitMs > 0) await sim.arrival(filter, waitMs);
      return { status: 200, json: sim.inspect(filter) };
    }
    if (req.method === 'POST' && req.path === '/messages') {
      const message = parseRequest(req.rawBody, smsRequest);
      await sim.send(message);
      return { status: 202, json: { messageId: message.messageId, status: 'ACCEPTED' } };
    }
    return problem(404, 'Not Found');
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: SimReply) {
  if (res.destroyed) return; // the client gave up (e.g. its timeout fired during injected latency)
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain; charset=utf-8' }).end(reply.text);
  } else {
    const isProblem = reply.status >= 400;
    res.writeHead(reply.status, { 'content-type': isProblem ? 'application/problem+json' : 'application/json' }).end(JSON.stringify(reply.json ?? {}));
  }
}

export type ListeningServer = { url: string; close(): Promise<void> };

/** The CPU this process has used so far (every simulator in it), in microseconds. */
const cpuUsed = (): { userMicros: number; systemMicros: number } => {
  const { user, system } = process.cpuUsage();
  return { userMicros: user, systemMicros: system };
};

/** One API call as the simulator received it (the partner's log). */
export type SimCall = { at: string; method: string; path: string; key: string | null; userAgent: string | null; status: number };

/** Serves one handler on host:port (0 = chosen by the OS); resolves once listening. */
export async function listen(handler: SimHandler, port = 0, host = '127.0.0.1'): Promise<ListeningServer> {
  const calls: SimCall[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      let reply: SimReply;
      const url = new URL(req.url ?? '/', 'http://sim');
      const header = (name: string): string | null => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : null;
      };
      const call: SimCall | null = url.pathname.startsWith('/_sim/')
        ? null
        : {
            at: new Date().toISOString(),
            method: req.method ?? 'GET',
            path: url.pathname,
            key: header('idempotency-key'),
            userAgent: header('user-agent'),
            status: 0,
          };
      if (call) calls.push(call);
      try {
        if (req.method === 'GET' && url.pathname === '/_sim/calls') reply = { status: 200, json: calls };
        else if (req.method === 'GET' && url.pathname === '/_sim/cpu') reply = { status: 200, json: cpuUsed() };
        else
          reply = await handler({
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            rawBody: await readBody(req),
          });
      } catch (err) {
        if (err instanceof BadRequest) reply = problem(400, 'Bad Request', err.message);
        else if (err instanceof OutboundError && err.status !== undefined)
          reply = problem(err.status, err.kind === 'final' ? 'Refused' : 'Unavailable', err.message);
        else reply = problem(500, 'Internal Server Error');
      }
      if (call) call.status = reply.status;
      send(res, reply);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export type SimulatorKind = 'platform' | 'boss' | 'sms';

export type StartSimulatorServersOptions = {
  kinds?: SimulatorKind[];
  host?: string;
  /** 0 (default): each server on an OS-chosen port; otherwise platform, boss, sms on port, port+1, port+2 in that order. */
  port?: number;
  platform?: PlatformSimulatorOptions;
  boss?: BossSimulatorOptions & { token?: string };
  sms?: SmsSimulatorOptions;
};

export type SimulatorServers = {
  urls: Partial<Record<SimulatorKind, string>>;
  /** The cores behind the servers, for direct inspection in tests. */
  platform?: PlatformSimulator;
  boss?: BossSimulator;
  sms?: SmsSimulator;
  close(): Promise<void>;
};

/** Starts the requested simulators (default all three) as HTTP servers. The platform needs `platform.secrets`. */
export async function startSimulatorServers(opts: StartSimulatorServersOptions = {}): Promise<SimulatorServers> {
  const kinds = opts.kinds ?? ['platform', 'boss', 'sms'];
  const host = opts.host ?? '127.0.0.1';
  const base = opts.port ?? 0;
  const portFor = (i: number) => (base === 0 ? 0 : base + i);
  const result: SimulatorServers = { urls: {}, close: async () => {} };
  const servers: ListeningServer[] = [];
  const closers: Array<() => void> = [];
  try {
    let i = 0;
    for (const kind of kinds) {
      let handler: SimHandler;
      if (kind === 'platform') {
        if (!opts.platform) throw new Error('startSimulatorServers: platform options (secrets) are required');
        const sim = createPlatformSimulator(opts.platform);
        const now = opts.platform.now;
        handler = platformHandler(sim, opts.platform.secrets, now ? () => now().getTime() : Date.now);
        result.platform = sim;
        closers.push(sim.close);
      } else if (kind === 'boss') {
        const sim = createBossSimulator(opts.boss);
        handler = bossHandler(sim, opts.boss?.token);
        result.boss = sim;
        closers.push(sim.close);
      } else {
        const sim = createSmsSimulator(opts.sms);
        handler = smsHandler(sim);
        result.sms = sim;
        closers.push(sim.close);
      }
      const server = await listen(handler, portFor(i++), host);
      servers.push(server);
      result.urls[kind] = server.url;
    }
  } catch (err) {
    for (const close of closers) close();
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  result.close = async () => {
    for (const close of closers) close();
    await Promise.all(servers.map((s) => s.close()));
  };
  return result;
}

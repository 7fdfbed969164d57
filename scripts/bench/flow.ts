/**
 * `npm run bench -- flow [options]`: whole orders, as an operator sees them in production, against the
 * limit of the same machine serving a plain validated JSON POST.
 *
 * - The service runs as `npm start` does (node --import tsx scripts/start.ts), on a free port, with a data
 *   dir of its own; the shipped simulators (scripts/simulators.ts) run as another process and
 *   answer at once. Everything talks over real HTTP on 127.0.0.1.
 * - One whole order, per simulated subscriber: POST /v1/orders (place) → the code SMS, read from the SMS
 *   simulator with a long-poll (GET /_sim/messages?msisdn=…&waitMs=…, answered when the message arrives)
 *   → POST /v1/payments/{id}/confirm → the platform trades and notifies, BOSS opens the channels → the
 *   open-platform callback `provisioned` reaches a small receiver in this process. The driver never polls
 *   the API for the order's status: the callback is how the open platform learns it in production too.
 * - C subscribers at once (--concurrency), N orders (--orders) after a warm-up (--warmup).
 * - Reported: orders/s until provisioned; p50/p99 of place, confirm, and place → provisioned; projection
 *   lag p99 (tvpay_projection_lag_seconds, the worst read model, sampled from /metrics once a second);
 *   service CPU ms per whole order (process_cpu_seconds_total before and after); outbound calls per order
 *   (tvpay_outbound_calls_total before and after); the machine's CPU per order, the service's plus the
 *   simulators' (GET /_sim/cpu) and the driver's, and the orders/s it allows on these cores.
 * - Half load: the flow again with orders arriving at half the rate (a) reached, open loop; printed:
 *   the same figures, and place p99 against its target.
 * - The limit, in the same run: a plain fastify server with one zod-validated JSON POST (plain-post.ts), a
 *   process of its own, driven by the same client at the same concurrency. Printed: orders/s ÷ POST req/s.
 * - --preload N: the same flow again on a store that already holds the cached N-event log of the replay
 *   bench (replay-log.ts), its read models built by `npm run rebuild`; printed: orders/s preloaded ÷ empty.
 *
 * Targets (issue 7): ≤ 1.5 ms service CPU per whole order, ≥ 500 orders/s, projection lag p99 ≤ 1 s,
 * place p99 ≤ 25 ms at half load;
 * with --preload, preloaded ÷ empty ≥ 0.85. Figures vary with the machine's load; the ratios, measured in
 * the same run, are the comparable numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openReadStore } from '../../app/stores.ts';
import { allSimulatorsArgs } from '../simulators.ts';
import { logFile } from './replay-log.ts';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** The flow's options, checked by `npm run bench` (scripts/bench.ts). */
export type FlowBenchOptions = {
  /** Subscribers at once. */
  concurrency: number;
  orders: number;
  /** Orders before the measured ones, not counted. */
  warmup: number;
  /** Requests to the plain-POST limit. */
  limitRequests: number;
  /** Events preloaded into the store for the second run; 0: no second run. */
  preload: number;
  /** Where the service's CPU profile goes, if anywhere. */
  cpuProf: string | undefined;
  /** Also run the service as two processes splitting the consumers (SPLIT), and compare. */
  split: boolean;
};

const TARGETS = { cpuMsPerOrder: 1.5, ordersPerSecond: 500, lagP99Seconds: 1, preloadedRatio: 0.85, placeP99HalfLoadMs: 25 } as const;
/** The cores the service, the simulators and the driver share. */
const CORES = availableParallelism();

const TOKENS = { open: 'bench-open-platform-token', phone: 'bench-phone-app-token', admin: 'bench-admin-token' } as const;
const PLATFORM_SECRET = 'bench-platform-secret-0123456789abcdef';
const BOSS_TOKEN = 'bench-boss-token-0123456789';
const CALLBACK_SECRET = 'bench-callback-secret-0123456789';
const CODE_SECRET = 'bench-code-secret-0123456789abcdef0123456789';
const DATA_KEY_SECRET = 'bench-data-key-secret-0123456789abcdef012345';
/** How long one order may take end to end before the bench gives up on it. */
const ORDER_TIMEOUT_MS = 60_000;

/* ------------------------------------------------------------ processes */

type Proc = { proc: ChildProcess; output(): string; stop(): Promise<void> };

const spawnNode = (args: string[], env: Record<string, string>): Proc => {
  const proc = spawn(process.execPath, args, {
    cwd: REPO,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  return {
    proc,
    output: () => tail,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
};

/** The first line the child prints on stdout, as JSON. */
const firstLine = (p: Proc, what: string): Promise<unknown> =>
  new Promise((resolveLine, reject) => {
    let buffered = '';
    p.proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl >= 0) resolveLine(JSON.parse(buffered.slice(0, nl)));
    });
    p.proc.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was listening\n${p.output()}`)));
  });

const freePort = async (): Promise<number> => {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
};

/* ----------------------------------------------------------------- client */

type Answer = { status: number; body: string };

/** A keep-alive HTTP client, one socket per caller: the same for the service and the plain server. */
const client = (concurrency: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency + 8 });
  /**
   * A server may close an idle keep-alive socket just as the client sends on it (the simulators close
   * theirs after Node's default 5 s): a request that fails with ECONNRESET on a reused socket is sent
   * once more, as Node's documentation advises (`request.reusedSocket`). A socket closed as idle was
   * never read, so the request was not applied; a placement would be deduplicated by its key anyway.
   */
  const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, body?: unknown, retried = false): Promise<Answer> =>
    new Promise((done, fail) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        url,
        {
          method,
          agent,
          headers: { ...headers, ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) },
        },
        (res: IncomingMessage) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
          res.on('error', fail);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') call(method, url, headers, body, true).then(done, fail);
        else fail(err);
      });
      req.setTimeout(ORDER_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url}: no answer`)));
      req.end(payload);
    });
  return { call, close: () => agent.destroy() };
};
type Client = ReturnType<typeof client>;

/**
 * Starts `work(i)` for i < n at `rate` a second, whether or not the earlier ones have finished (an open
 * loop: the arrivals do not slow down when the service does, as subscribers' do not).
 */
const atRate = async (rate: number, n: number, work: (i: number) => Promise<void>): Promise<void> => {
  const started = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    running.push(work(i));
  }
  await Promise.all(running);
};

/** Runs `work(i)` for i < n with `concurrency` callers at once. */
const inParallel = async (concurrency: number, n: number, work: (i: number) => Promise<void>): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
};

/* ----------------------------------------------------------------- metrics */

/** Sums of each metric family in a Prometheus text exposition; `max:` entries hold the largest sample. */
const readMetrics = async (c: Client, url: string): Promise<Map<string, number>> => {
  const r = await c.call('GET', `${url}/metrics`);
  const out = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    out.set(m[1], (out.get(m[1]) ?? 0) + v);
    out.set(`max:${m[1]}`, Math.max(out.get(`max:${m[1]}`) ?? 0, v));
  }
  return out;
};

const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};

/* -------------------------------------------------------------------- flow */

/** How the orders came: C subscribers at once (the service saturated), or arrivals at a rate. */
type Load = { kind: 'saturated'; concurrency: number } | { kind: 'rate'; perSecond: number };
const describeLoad = (load: Load): string =>
  load.kind === 'saturated' ? `${load.concurrency} subscribers at once` : `arriving at ${load.perSecond.toFixed(1)} a second`;

type FlowFigures = {
  orders: number;
  load: Load;
  seconds: number;
  ordersPerSecond: number;
  placeMs: { p50: number; p99: number };
  confirmMs: { p50: number; p99: number };
  provisionedMs: { p50: number; p99: number };
  lagP99Seconds: number;
  cpuMsPerOrder: number;
  /** The rest of the machine's work for an order: the simulators' process, and this one (the driver and the callback receiver). */
  simulatorsCpuMsPerOrder: number;
  driverCpuMsPerOrder: number;
  outboundCallsPerOrder: number;
};

/** The open platform's side: receives the callbacks, tells each order's driver when it is provisioned. */
const callbackReceiver = async () => {
  const waiting = new Map<string, { done(): void; fail(e: Error): void }>();
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      const cb = JSON.parse(text) as { orderId: string; status: string; reason?: string };
      const w = waiting.get(cb.orderId);
      if (!w) return;
      if (cb.status === 'provisioned') w.done();
      else if (cb.status !== 'paid') w.fail(new Error(`order ${cb.orderId} ended ${cb.status}${cb.reason ? ` (${cb.reason})` : ''}`));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callbacks`,
    /** Resolves when the order's `provisioned` callback arrives. Register before the order can get there. */
    provisioned: (orderId: string): Promise<void> =>
      new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`order ${orderId}: no provisioned callback within ${ORDER_TIMEOUT_MS} ms`)), ORDER_TIMEOUT_MS);
        waiting.set(orderId, {
          done: () => {
            clearTimeout(timer);
            waiting.delete(orderId);
            done();
          },
          fail: (e) => {
            clearTimeout(timer);
            waiting.delete(orderId);
            fail(e);
          },
        });
      }),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
};
type Receiver = Awaited<ReturnType<typeof callbackReceiver>>;

const serviceEnv = (dataDir: string, port: number, sims: { platform: string; boss: string; sms: string }, callbackUrl: string): Record<string, string> => ({
  PORT: String(port),
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  API_TOKENS: `open-platform:${TOKENS.open},phone-app:${TOKENS.phone},admin:${TOKENS.admin}`,
  PAYMENT_PLATFORM_URL: sims.platform,
  PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET,
  PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  BOSS_URL: sims.boss,
  BOSS_TOKEN,
  SMS_GATEWAY_URL: sims.sms,
  OPEN_PLATFORM_CALLBACK_URL: callbackUrl,
  OPEN_PLATFORM_CALLBACK_SECRET: CALLBACK_SECRET,
  CODE_SECRET,
  DATA_KEY_SECRET,
  LOG_LEVEL: 'warn',
  // The driver is one address and one client standing in for many phones and set-top boxes: the
  // per-address and per-client limits would measure the limiter, not the flow. Per-payment limits stay.
  RATE_LIMIT_CONFIRM_PER_IP: '1000000',
  RATE_LIMIT_RESEND_PER_IP: '1000000',
  RATE_LIMIT_ORDERS_PER_CLIENT: '1000000',
});

/** Copies the cached E-event log into the data dir, builds its read models, and puts the process reactor at its head. */
const preload = async (dataDir: string, events: number, env: Record<string, string>, say: (line: string) => void): Promise<void> => {
  const log = await logFile(join(tmpdir(), 'tvpay-bench-replay'), { events, spacingMs: 1500 }, say);
  copyFileSync(log, join(dataDir, 'events.db'));
  say(`preload: ${events.toLocaleString('en')} events copied; npm run rebuild…`);
  // Built as the service that wrote the log was configured: without open-platform callbacks. Built with them,
  // the queue would owe the open platform a callback for every order in the log, and ours would wait behind them.
  const { OPEN_PLATFORM_CALLBACK_URL: _url, OPEN_PLATFORM_CALLBACK_SECRET: _secret, ...asWritten } = env;
  const rebuild = spawnNode(['--max-old-space-size=192', '--import', 'tsx', 'scripts/rebuild.ts', '--json'], asWritten);
  const code = await new Promise<number | null>((done) => rebuild.proc.once('exit', done));
  if (code !== 0) throw new Error(`rebuild exited with ${code}\n${rebuild.output()}`);
  // The process reactor is not rebuilt (its follow-ups were all made when the log was written): an operator's
  // would stand at the head of the log, so this one does too.
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  const last = db
    .prepare<[], { seq: number; stream_id: string; revision: number }>('SELECT seq, stream_id, revision FROM events ORDER BY seq DESC LIMIT 1')
    .get();
  db.close();
  if (!last) throw new Error('preload: the log is empty');
  const reads = await openReadStore({ dataDir, mongodbUrl: undefined });
  try {
    const lease = await reads.acquireLease('process', 'bench-preload', 10_000, new Date());
    if (!lease) throw new Error('preload: the process reactor lease is held');
    await reads.commit(lease, { position: { commit: BigInt(last.seq), prepare: BigInt(last.seq) }, streamId: last.stream_id, revision: last.revision }, []);
    await reads.releaseLease(lease);
  } finally {
    await reads.close();
  }
};

type FlowOptions = {
  concurrency: number;
  orders: number;
  warmup: number;
  preload: number;
  cpuProf: string | undefined;
  /** The service as two processes on one data dir, splitting the consumers (SPLIT); the first serves the driver. */
  split: boolean;
  /** Orders arriving at this rate a second (open loop); undefined: `concurrency` subscribers, each ordering again once provisioned. */
  rate?: number;
  say: (line: string) => void;
};

/**
 * The split of `--split` (README, "Splitting the work over processes"): the process the driver talks
 * to runs every read model, the outbound queue too; the other runs what acts: the reactors' follow-ups,
 * the outbound worker's calls, the seal and retention.
 */
const SPLIT = ['orders,entitlements,outbound,finance,journal,subscribers,erasure', 'process,worker,seal,retention'] as const;

/** Sums over the processes; `max:` entries the largest of their samples. */
const readAllMetrics = async (c: Client, urls: readonly string[]): Promise<Map<string, number>> => {
  const out = new Map<string, number>();
  for (const one of await Promise.all(urls.map((u) => readMetrics(c, u)))) {
    for (const [k, v] of one) out.set(k, k.startsWith('max:') ? Math.max(out.get(k) ?? 0, v) : (out.get(k) ?? 0) + v);
  }
  return out;
};

/** One whole run: simulators, receiver, service (optionally on a preloaded store, or as two processes), warm-up, measurement. */
const flowRun = async (o: FlowOptions): Promise<FlowFigures> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tvpay-bench-flow-'));
  const sims = spawnNode(allSimulatorsArgs(PLATFORM_SECRET, BOSS_TOKEN), {});
  const receiver = await callbackReceiver();
  const c = client(o.concurrency);
  const services: Proc[] = [];
  try {
    const simUrls = (await firstLine(sims, 'the simulators')) as { platform: string; boss: string; sms: string };
    const port = await freePort();
    const env = serviceEnv(dataDir, port, simUrls, receiver.url);
    if (o.preload > 0) await preload(dataDir, o.preload, env, o.say);
    const url = `http://127.0.0.1:${port}`;
    if (o.cpuProf !== undefined) mkdirSync(o.cpuProf, { recursive: true });
    const node = [...(o.cpuProf !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : []), '--import', 'tsx', 'scripts/start.ts'];
    const urls = [url];
    if (o.split) {
      const other = await freePort();
      services.push(spawnNode(node, { ...env, CONSUMERS: SPLIT[0] }), spawnNode(node, { ...env, PORT: String(other), CONSUMERS: SPLIT[1] }));
      urls.push(`http://127.0.0.1:${other}`);
    } else {
      services.push(spawnNode(node, env));
    }
    for (const [i, s] of services.entries()) await ready(c, urls[i] ?? url, s);

    const order = orderDriver(c, url, simUrls.sms, receiver);
    o.say(`warm-up: ${o.warmup} orders…`);
    await inParallel(o.concurrency, o.warmup, (i) => order(i, null));

    const simulatorsCpu = async (): Promise<number> => {
      const used = JSON.parse((await c.call('GET', `${simUrls.sms}/_sim/cpu`)).body) as { userMicros: number; systemMicros: number };
      return used.userMicros + used.systemMicros;
    };
    const before = await readAllMetrics(c, urls);
    const simulatorsBefore = await simulatorsCpu();
    const driverBefore = process.cpuUsage();
    const lags: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lags.push((await readAllMetrics(c, urls)).get('max:tvpay_projection_lag_seconds') ?? 0);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const load: Load = o.rate === undefined ? { kind: 'saturated', concurrency: o.concurrency } : { kind: 'rate', perSecond: o.rate };
    o.say(`measuring: ${o.orders} orders, ${describeLoad(load)}…`);
    const times: Times = { place: [], confirm: [], provisioned: [] };
    const started = performance.now();
    const measured = (i: number) => order(o.warmup + i, times);
    await (o.rate === undefined ? inParallel(o.concurrency, o.orders, measured) : atRate(o.rate, o.orders, measured));
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    const after = await readAllMetrics(c, urls);
    const simulatorsMicros = (await simulatorsCpu()) - simulatorsBefore;
    const driver = process.cpuUsage(driverBefore);
    const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const p = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
    return {
      orders: o.orders,
      load,
      seconds,
      ordersPerSecond: o.orders / seconds,
      placeMs: p(times.place),
      confirmMs: p(times.confirm),
      provisionedMs: p(times.provisioned),
      lagP99Seconds: quantile(lags, 0.99),
      // Counts the sampler's /metrics reads too (one a second, as a scraper would make); all the service's processes.
      cpuMsPerOrder: (delta('process_cpu_seconds_total') * 1000) / o.orders,
      simulatorsCpuMsPerOrder: simulatorsMicros / 1000 / o.orders,
      driverCpuMsPerOrder: (driver.user + driver.system) / 1000 / o.orders,
      outboundCallsPerOrder: delta('tvpay_outbound_calls_total') / o.orders,
    };
  } catch (err) {
    // Which process went away, and what it said last.
    const state = (p: Proc): string =>
      p.proc.exitCode === null && p.proc.signalCode === null ? 'running' : `exited (${p.proc.exitCode ?? p.proc.signalCode})`;
    const said = services.map((s, i) => `service ${i + 1}: ${state(s)}\n${s.output()}`).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${said || 'service: not started'}\nsimulators: ${state(sims)}\n${sims.output()}`);
  } finally {
    c.close();
    await Promise.all(services.map((s) => s.stop()));
    await sims.stop();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const ready = async (c: Client, url: string, service: Proc): Promise<void> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (service.proc.exitCode !== null) throw new Error(`the service exited before it was ready\n${service.output()}`);
    const r = await c.call('GET', `${url}/readyz`).catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`the service was not ready within 120 s\n${service.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
};

type Times = { place: number[]; confirm: number[]; provisioned: number[] };

/** One subscriber's whole order; its times go to `times` (null: warm-up). */
const orderDriver =
  (c: Client, url: string, smsUrl: string, receiver: Receiver) =>
  async (i: number, times: Times | null): Promise<void> => {
    const n = String(i).padStart(8, '0');
    const msisdn = `139${n}`;
    const t0 = performance.now();
    const placed = await c.call(
      'POST',
      `${url}/v1/orders`,
      { authorization: `Bearer ${TOKENS.open}`, 'idempotency-key': `bench-flow-${n}` },
      { subscriberId: `bench-sub-${n}`, smartcardId: `81000000${n}`, msisdn, productId: 'sports-month', paymentMethod: 'mobile' },
    );
    const t1 = performance.now();
    if (placed.status !== 201) throw new Error(`place: ${placed.status} ${placed.body}`);
    const { orderId, paymentId } = JSON.parse(placed.body) as { orderId: string; paymentId: string };
    const provisioned = receiver.provisioned(orderId);
    provisioned.catch(() => undefined); // awaited below; a failure before then is not unhandled
    const inbox = await c.call('GET', `${smsUrl}/_sim/messages?msisdn=${msisdn}&waitMs=${ORDER_TIMEOUT_MS / 2}`);
    const texts = (JSON.parse(inbox.body) as { messages: Array<{ text: string }> }).messages.map((m) => m.text);
    const code = texts.map((t) => /验证码(\d{6})/.exec(t)?.[1]).find((x) => x !== undefined);
    if (code === undefined) throw new Error(`order ${orderId}: no code SMS within ${ORDER_TIMEOUT_MS / 2} ms`);
    const t2 = performance.now();
    const confirmed = await c.call('POST', `${url}/v1/payments/${paymentId}/confirm`, { authorization: `Bearer ${TOKENS.phone}` }, { code });
    const t3 = performance.now();
    if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${confirmed.body}`);
    await provisioned;
    const t4 = performance.now();
    if (times) {
      times.place.push(t1 - t0);
      times.confirm.push(t3 - t2);
      times.provisioned.push(t4 - t0);
    }
  };

/* ------------------------------------------------------------------- limit */

/** Requests/s of the plain validated POST server (plain-post.ts) under the same client and concurrency. */
const limitRun = async (concurrency: number, requests: number): Promise<number> => {
  const server = spawnNode(['--import', 'tsx', 'scripts/bench/plain-post.ts'], {});
  const c = client(concurrency);
  try {
    const { url } = (await firstLine(server, 'the plain POST server')) as { url: string };
    const post = async (i: number): Promise<void> => {
      const n = String(i).padStart(8, '0');
      const r = await c.call(
        'POST',
        `${url}/v1/orders`,
        { authorization: `Bearer ${TOKENS.open}`, 'idempotency-key': `plain-${n}` },
        { subscriberId: `bench-sub-${n}`, smartcardId: `81000000${n}`, msisdn: `139${n}`, productId: 'sports-month', paymentMethod: 'mobile' },
      );
      if (r.status !== 201) throw new Error(`plain POST: ${r.status} ${r.body}`);
    };
    await inParallel(concurrency, Math.min(2000, requests), post); // warm-up
    const started = performance.now();
    await inParallel(concurrency, requests, post);
    return requests / ((performance.now() - started) / 1000);
  } finally {
    c.close();
    await server.stop();
  }
};

/* --------------------------------------------------------------------- run */

const ms = (x: number): string => (x < 10 ? x.toFixed(1) : String(Math.round(x)));
const fmt = (n: number): string => Math.round(n).toLocaleString('en');

/**
 * Runs the flow bench with the options `npm run bench` handed on (scripts/bench.ts parses and checks
 * them, and owns --help and --json); its figures go to `log`, its progress to stderr when that is a terminal.
 */
export const run = async (options: FlowBenchOptions, log: (line: string) => void): Promise<boolean> => {
  const { concurrency, orders, warmup, limitRequests, preload: preloadEvents, cpuProf, split } = options;
  // Progress, like every script's (scripts/progress.ts): on a terminal only, so a log or a pipe gets the figures alone.
  const say = (line: string): void => {
    if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
  };

  const base = { concurrency, orders, warmup, cpuProf, split: false, say };
  const show = (label: string, f: FlowFigures): void => {
    log(`${label}: ${f.ordersPerSecond.toFixed(1)} whole orders/s until provisioned (${f.orders} orders, ${describeLoad(f.load)}, ${f.seconds.toFixed(1)} s)`);
    log(`  place          p50 ${ms(f.placeMs.p50)} ms, p99 ${ms(f.placeMs.p99)} ms`);
    log(`  confirm        p50 ${ms(f.confirmMs.p50)} ms, p99 ${ms(f.confirmMs.p99)} ms`);
    log(`  → provisioned  p50 ${ms(f.provisionedMs.p50)} ms, p99 ${ms(f.provisionedMs.p99)} ms`);
    log(`  projection lag p99 ${f.lagP99Seconds.toFixed(2)} s (target ≤ ${TARGETS.lagP99Seconds})`);
    log(`  service CPU    ${f.cpuMsPerOrder.toFixed(2)} ms per whole order (target ≤ ${TARGETS.cpuMsPerOrder})`);
    log(`  outbound calls ${f.outboundCallsPerOrder.toFixed(2)} per order`);
    // What the whole machine spends on one order, saturated, bounds orders/s on these cores whatever the
    // service does. Below saturation the idle work (polls, renewals, scrapes) counts too: no bound then.
    const machine = f.cpuMsPerOrder + f.simulatorsCpuMsPerOrder + f.driverCpuMsPerOrder;
    const bound = f.load.kind === 'saturated' ? `: at most ${Math.round((CORES * 1000) / machine)} orders/s on ${CORES} cores` : '';
    log(
      `  machine CPU    ${machine.toFixed(1)} ms per whole order (service ${f.cpuMsPerOrder.toFixed(1)}, simulators ${f.simulatorsCpuMsPerOrder.toFixed(1)}, driver ${f.driverCpuMsPerOrder.toFixed(1)})${bound}`,
    );
  };
  const empty = await flowRun({ ...base, preload: 0 });
  show('(a) empty store', empty);
  say(`limit: plain validated POST, ${limitRequests} requests, ${concurrency} callers at once…`);
  const plain = await limitRun(concurrency, limitRequests);
  const ratio = empty.ordersPerSecond / plain;
  log(`(b) plain validated JSON POST (fastify + zod), same client: ${fmt(plain)} req/s`);
  log(`a/b = ${ratio.toFixed(3)} (whole orders per plain POST)`);
  // Place latency at half the load (a): orders arrive at half its rate, so the service is not saturated.
  const half = await flowRun({ ...base, preload: 0, rate: empty.ordersPerSecond / 2, orders: Math.max(1, Math.round(orders / 2)) });
  show('(h) empty store, half the load of (a)', half);
  log(`place p99 at half load: ${ms(half.placeMs.p99)} ms (target ≤ ${TARGETS.placeP99HalfLoadMs})`);
  const preloaded = preloadEvents > 0 ? await flowRun({ ...base, preload: preloadEvents }) : undefined;
  const preloadedRatio = preloaded ? preloaded.ordersPerSecond / empty.ordersPerSecond : undefined;
  if (preloaded && preloadedRatio !== undefined) {
    show(`(c) store preloaded with ${fmt(preloadEvents)} events`, preloaded);
    log(`c/a = ${preloadedRatio.toFixed(2)} (target ≥ ${TARGETS.preloadedRatio})`);
  }
  if (split) {
    const two = await flowRun({ ...base, preload: 0, split: true });
    show('(s) empty store, two processes splitting the consumers', two);
    log(`s/a = ${(two.ordersPerSecond / empty.ordersPerSecond).toFixed(2)} (whole orders/s, two processes ÷ one)`);
  }
  const checks = {
    cpuMsPerOrder: empty.cpuMsPerOrder <= TARGETS.cpuMsPerOrder,
    ordersPerSecond: empty.ordersPerSecond >= TARGETS.ordersPerSecond,
    lagP99Seconds: empty.lagP99Seconds <= TARGETS.lagP99Seconds,
    placeP99HalfLoad: half.placeMs.p99 <= TARGETS.placeP99HalfLoadMs,
    ...(preloadedRatio !== undefined && { preloadedRatio: preloadedRatio >= TARGETS.preloadedRatio }),
  };
  log(
    `targets: ${Object.entries(checks)
      .map(([k, ok]) => `${k} ${ok ? 'PASS' : 'FAIL'}`)
      .join(', ')}`,
  );
  return Object.values(checks).every(Boolean);
};

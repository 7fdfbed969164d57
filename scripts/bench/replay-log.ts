/**
 * The replay bench's log: a realistic event log of any size, built from what the service itself writes.
 *
 * 1. Record: the whole service runs in-process (compose(), the in-process simulators, a clock we move)
 *    and plays one order of each scenario through the HTTP API: happy, renewal, wrong code, code resent,
 *    BOSS refusal → refund, platform failure, lost notification found by the query, expiry, decline,
 *    cancel. Whatever events the service writes for a scenario (domain, workflow and task events) are
 *    that scenario's template.
 * 2. Replicate: copies of the templates, mixed by weight, with fresh ids (every UUID, card, subscriber
 *    and phone number replaced consistently within a copy) and times shifted so orders start
 *    `spacingMs` apart and overlap as real traffic does, are written in time order into an events
 *    table of the store's own schema (EVENTS_SCHEMA).
 * 3. Phone numbers go into the copies plain, as in a log written before numbers were sealed (which the
 *    service reads, and `npm run migrate -- --encrypt-pii` seals): a copy of a sealed number would name
 *    a subscriber whose data key exists in no key store, and no rebuild could open it. So the rebuild
 *    measured here does not open one AES-GCM seal per number nor read one key per subscriber.
 *
 * The file is cached by size and recipe (`logFile`), so runs after the first reuse it.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deriveCode } from '../../commands/one-time-code.ts';
import { compose } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { seededRandom } from '../../integrations/simulators/faults.ts';
import { EVENTS_SCHEMA } from '../../stores/sqlite/event-store.ts';
import { reached, type RecordedEvent } from '../../stores/event-store.ts';

/** Bump when the recipe changes, so a cached log of the old recipe is not reused. */
const RECIPE = 2;

type Scenario = {
  name: string;
  /** Relative frequency in the generated log. */
  weight: number;
  /** Plays one copy of the scenario against the in-process service. */
  play(s: Player): Promise<void>;
};

type Template = { name: string; weight: number; events: TemplateEvent[] };
/** One recorded event as text pieces with slots for ids and times (see tokenize). */
type TemplateEvent = { atMs: number; id: Piece[]; stream: Piece[]; type: string; data: Piece[]; metadata: Piece[] };
type Piece = string | { slot: number } | { timeMs: number };

const TOKENS = { open: 'bench-open-platform-token', phone: 'bench-phone-token', service: 'bench-service-token' } as const;
const CODE_SECRET = 'bench-code-secret-0123456789abcdef0123456789';

type Placed = { orderId: string; paymentId: string };

type Player = {
  place(card: string, productId?: string): Promise<Placed>;
  confirm(paymentId: string, seq?: number, code?: string): Promise<void>;
  post(url: string, token: string): Promise<void>;
  until(orderId: string, status: string): Promise<void>;
  boss(patch: Record<string, unknown>): void;
  platform(patch: Record<string, unknown>): void;
};

/** One order: placed, `act` done on it, then followed until it reaches `status`. */
const oneOrder = async (s: Player, status: string, act: (o: Placed) => Promise<void> = async () => {}): Promise<void> => {
  const o = await s.place('card-a');
  await act(o);
  await s.until(o.orderId, status);
};

/** One order confirmed with the right code, until it reaches `status`. */
const paidOrder = (s: Player, status: string): Promise<void> => oneOrder(s, status, (o) => s.confirm(o.paymentId));

/** Plays `play` with a simulator's faults set, and sets them back to `normal` after. */
const withFaults = async (
  setFaults: Player['boss'],
  fault: Record<string, unknown>,
  normal: Record<string, unknown>,
  play: () => Promise<void>,
): Promise<void> => {
  setFaults(fault);
  await play();
  setFaults(normal);
};

const SCENARIOS: readonly Scenario[] = [
  { name: 'happy', weight: 60, play: (s) => paidOrder(s, 'provisioned') },
  {
    name: 'renewal',
    weight: 10,
    play: async (s) => {
      for (let i = 0; i < 2; i++) await paidOrder(s, 'provisioned');
    },
  },
  {
    name: 'wrong-code',
    weight: 5,
    play: (s) =>
      oneOrder(s, 'provisioned', async (o) => {
        await s.confirm(o.paymentId, 1, '000000').catch(() => undefined);
        await s.confirm(o.paymentId);
      }),
  },
  {
    name: 'code-resent',
    weight: 4,
    play: (s) =>
      oneOrder(s, 'provisioned', async (o) => {
        await s.post(`/v1/payments/${o.paymentId}/resend-code`, TOKENS.phone);
        await s.confirm(o.paymentId, 2);
      }),
  },
  { name: 'boss-refusal-refund', weight: 4, play: (s) => withFaults(s.boss, { refuseAll: true }, { refuseAll: false }, () => paidOrder(s, 'refunded')) },
  {
    name: 'payment-failed',
    weight: 4,
    play: (s) => withFaults(s.platform, { failMsisdnSuffixes: [REC_MSISDN.slice(-4)] }, { failMsisdnSuffixes: [] }, () => paidOrder(s, 'payment_failed')),
  },
  {
    name: 'notification-lost',
    weight: 3,
    play: (s) => withFaults(s.platform, { dropNotifications: true }, { dropNotifications: false }, () => paidOrder(s, 'provisioned')),
  },
  { name: 'expired', weight: 5, play: (s) => oneOrder(s, 'expired') },
  { name: 'declined', weight: 3, play: (s) => oneOrder(s, 'cancelled', (o) => s.post(`/v1/payments/${o.paymentId}/decline`, TOKENS.phone)) },
  { name: 'cancelled', weight: 2, play: (s) => oneOrder(s, 'cancelled', (o) => s.post(`/v1/orders/${o.orderId}/cancel`, TOKENS.open)) },
];

/* ------------------------------------------------------------------ record */

const START = Date.parse('2026-11-02T00:00:00.000Z');
/** Placeholder identities in the recording; each copy gets its own. */
const REC_CARD = '8100999900000001';
const REC_SUBSCRIBER = 'sub-rec-000001';
const REC_MSISDN = '13900000001';

const realPause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs every scenario once through the in-process service and returns their templates. */
export const recordTemplates = async (): Promise<Template[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpay-replay-rec-'));
  const clock = { now: new Date(START) };
  const config = loadConfig({
    DATA_DIR: dir,
    API_TOKENS: `open-platform:${TOKENS.open},phone-app:${TOKENS.phone},customer-service:${TOKENS.service}`,
    PAYMENT_PLATFORM_SECRET: 'bench-platform-secret-0123456789',
    CODE_SECRET,
    LOG_LEVEL: 'silent',
  });
  // The event store stamps recordedAt with Date.now(): during the recording that is the clock we move,
  // so every recorded time (the domain's and the store's) is scenario time.
  const realNow = Date.now;
  Date.now = () => clock.now.getTime();
  const service = await compose(config, createLogger('silent'), () => clock.now);
  service.start();
  const { app } = service;
  const sims = service.integrations.simulated;
  const inject = async (method: 'GET' | 'POST', url: string, token: string, body?: unknown) => {
    const r = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'idempotency-key': `k-${Math.random()}` }) },
      ...(body !== undefined && { payload: body as Record<string, unknown> }),
    });
    return r;
  };
  /** Moves the clock in steps until the probe holds (timers and retries come due as time passes). */
  const waitFor = async (probe: () => Promise<boolean>, what: string): Promise<void> => {
    for (let i = 0; i < 2000; i++) {
      if (await probe()) return;
      clock.now = new Date(clock.now.getTime() + 2000);
      await realPause(5);
    }
    throw new Error(`recording: timed out waiting for ${what}`);
  };
  /** Nothing more happens: every projection at the head, and the head unmoved for a while as time passes. */
  const quiet = async (stepMs: number): Promise<void> => {
    let stable = 0;
    let last = await service.ledger.store.headPosition();
    while (stable < 6) {
      clock.now = new Date(clock.now.getTime() + stepMs);
      await realPause(150);
      const head = await service.ledger.store.headPosition();
      const caughtUp = [...service.projections.values()].every((p) => reached(p.position(), head));
      stable =
        caughtUp &&
        JSON.stringify(head, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ===
          JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
          ? stable + 1
          : 0;
      last = head;
    }
  };
  const player: Player = {
    place: async (card, productId = 'sports-month') => {
      const inbox = () => sims.sms?.messages({ msisdn: `+86${REC_MSISDN}` }).length ?? 0;
      const sent = inbox();
      const r = await inject('POST', '/v1/orders', TOKENS.open, {
        subscriberId: REC_SUBSCRIBER,
        smartcardId: card === 'card-a' ? REC_CARD : card,
        msisdn: REC_MSISDN,
        productId,
        paymentMethod: 'mobile',
      });
      if (r.statusCode !== 201) throw new Error(`recording: place answered ${r.statusCode} ${r.body}`);
      // The subscriber confirms after the code SMS has arrived.
      await waitFor(async () => inbox() > sent, 'the code SMS');
      return r.json<{ orderId: string; paymentId: string }>();
    },
    confirm: async (paymentId, seq = 1, code) => {
      clock.now = new Date(clock.now.getTime() + 20_000); // the subscriber reads the SMS
      const r = await inject('POST', `/v1/payments/${paymentId}/confirm`, TOKENS.phone, { code: code ?? deriveCode(CODE_SECRET, paymentId, seq) });
      if (r.statusCode !== 200 && code === undefined) throw new Error(`recording: confirm answered ${r.statusCode} ${r.body}`);
    },
    post: async (url, token) => {
      clock.now = new Date(clock.now.getTime() + 65_000); // past the resend limit
      const r = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` } });
      if (r.statusCode !== 200) throw new Error(`recording: ${url} answered ${r.statusCode} ${r.body}`);
    },
    until: (orderId, status) =>
      waitFor(async () => {
        const r = await inject('GET', `/v1/orders/${orderId}`, TOKENS.service);
        return r.statusCode === 200 && r.json<{ status: string }>().status === status;
      }, `order ${orderId} ${status}`),
    boss: (patch) => sims.boss?.setFaults(patch),
    platform: (patch) => sims.platform?.setFaults(patch),
  };
  const templates: Template[] = [];
  try {
    for (const scenario of SCENARIOS) {
      const from = await service.ledger.store.headPosition();
      const startedAt = clock.now.getTime();
      await scenario.play(player);
      await quiet(2000); // what follows at once (messages, BOSS)
      await quiet(600_000); // timers: the payment query, the order's expiry
      const events: RecordedEvent[] = [];
      for (
        let page = await service.ledger.store.readAll(from ?? 'start', 1000);
        page.length > 0;
        page = await service.ledger.store.readAll(page.at(-1)?.position ?? 'start', 1000)
      ) {
        events.push(...page);
      }
      const uuids = new Map<string, number>();
      templates.push({ name: scenario.name, weight: scenario.weight, events: events.map((e) => tokenize(e, startedAt, uuids)) });
    }
  } finally {
    await service.close();
    Date.now = realNow;
    rmSync(dir, { recursive: true, force: true });
  }
  return templates;
};

/* ------------------------------------------------------------- replicate */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
/** What varies per copy besides UUIDs: the recording's card, subscriber and phone number. */
const IDENTITIES = [REC_CARD, REC_SUBSCRIBER, REC_MSISDN] as const;
const IDENTITY_SLOTS = { [REC_CARD]: -1, [REC_SUBSCRIBER]: -2, [REC_MSISDN]: -3 } as const;
const IDENTITY = new RegExp(`${UUID.source}|${ISO_TIME.source}|${IDENTITIES.join('|')}`, 'g');

/** A sealed number (domain/personal-data.ts) as the recording's plain number, which each copy replaces with its own. */
const SEALED = /\{"sealed":"A256GCM"[^{}]*\}/g;
const asPlainNumbers = (json: string): string => json.replace(SEALED, JSON.stringify(REC_MSISDN));

/** Splits an event's text into literals and slots; `uuids` numbers the template's distinct UUIDs (negative slots: identities). */
const tokenize = (e: RecordedEvent, startedAt: number, uuids: Map<string, number>): TemplateEvent => {
  const pieces = (text: string): Piece[] => {
    const out: Piece[] = [];
    let at = 0;
    for (const m of text.matchAll(IDENTITY)) {
      if (m.index > at) out.push(text.slice(at, m.index));
      const found = m[0];
      if (found in IDENTITY_SLOTS) out.push({ slot: IDENTITY_SLOTS[found as keyof typeof IDENTITY_SLOTS] });
      else if (found.includes('T')) out.push({ timeMs: Date.parse(found) - startedAt });
      else {
        let slot = uuids.get(found);
        if (slot === undefined) {
          slot = uuids.size;
          uuids.set(found, slot);
        }
        out.push({ slot });
      }
      at = m.index + found.length;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  };
  return {
    atMs: e.recordedAt.getTime() - startedAt,
    id: pieces(e.id),
    stream: pieces(e.streamId),
    type: e.type,
    data: pieces(asPlainNumbers(JSON.stringify(e.data))),
    metadata: pieces(JSON.stringify(e.metadata)),
  };
};

/** 32 random bits from the simulators' seeded generator, so the same size and recipe always give the same log. */
const prng = (seed: number): (() => number) => {
  const random = seededRandom(seed);
  return () => Math.floor(random() * 2 ** 32);
};

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const uuidOf = (next: () => number): string => {
  const a = hex8(next());
  const b = hex8(next());
  const c = hex8(next());
  const d = hex8(next());
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${((parseInt(c[0] ?? '0', 16) & 3) | 8).toString(16)}${c.slice(1, 4)}-${c.slice(4)}${d}`;
};

type Copy = { startMs: number; uuids: string[]; card: string; subscriber: string; msisdn: string };

const render = (pieces: readonly Piece[], copy: Copy): string => {
  let s = '';
  for (const p of pieces) {
    if (typeof p === 'string') s += p;
    else if ('timeMs' in p) s += new Date(copy.startMs + p.timeMs).toISOString();
    else if (p.slot === -1) s += copy.card;
    else if (p.slot === -2) s += copy.subscriber;
    else if (p.slot === -3) s += copy.msisdn;
    else s += copy.uuids[p.slot] ?? '';
  }
  return s;
};

export type LogSpec = { events: number; spacingMs: number };

/** Writes ≥ spec.events events (whole scenarios only) into `file`, in time order. */
export const writeLog = (templates: readonly Template[], spec: LogSpec, file: string): number => {
  const next = prng(0x7e57 + RECIPE);
  const totalWeight = templates.reduce((n, t) => n + t.weight, 0);
  const pick = (): Template => {
    let r = next() % totalWeight;
    for (const t of templates) {
      r -= t.weight;
      if (r < 0) return t;
    }
    return templates[0] as Template;
  };
  const slotsOf = (t: Template): number => {
    let max = -1;
    for (const e of t.events)
      for (const p of [...e.id, ...e.stream, ...e.data, ...e.metadata]) if (typeof p === 'object' && 'slot' in p) max = Math.max(max, p.slot);
    return max + 1;
  };
  const slotCounts = new Map(templates.map((t) => [t, slotsOf(t)]));

  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(EVENTS_SCHEMA);
  const insert = db.prepare('INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');

  // Copies start spacingMs apart; their events are merged by time through a heap of pending copies.
  type Cursor = { at: number; copy: Copy; template: Template; index: number; revisions: Map<string, number> };
  const heap: Cursor[] = [];
  const push = (c: Cursor): void => {
    heap.push(c);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Cursor).at <= c.at) break;
      heap[i] = heap[parent] as Cursor;
      i = parent;
    }
    heap[i] = c;
  };
  const pop = (): Cursor | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mAt = last.at;
      if (l < heap.length && (heap[l] as Cursor).at < mAt) {
        m = l;
        mAt = (heap[l] as Cursor).at;
      }
      if (r < heap.length && (heap[r] as Cursor).at < mAt) m = r;
      if (m === i) break;
      heap[i] = heap[m] as Cursor;
      i = m;
    }
    heap[i] = last;
    return top;
  };

  let planned = 0;
  let copies = 0;
  const startCopy = (): void => {
    const template = pick();
    const n = copies++;
    const uuids = Array.from({ length: slotCounts.get(template) ?? 0 }, () => uuidOf(next));
    const copy: Copy = {
      startMs: START + n * spec.spacingMs,
      uuids,
      card: `81${String(10_000_000_000_000 + n).slice(-14)}`,
      subscriber: `sub-${String(n).padStart(8, '0')}`,
      msisdn: `13${String(next() % 1_000_000_000).padStart(9, '0')}`,
    };
    planned += template.events.length;
    const first = template.events[0];
    if (first) push({ at: copy.startMs + first.atMs, copy, template, index: 0, revisions: new Map() });
  };

  let written = 0;
  const flush = db.transaction((rows: unknown[][]) => {
    for (const row of rows) insert.run(...row);
  });
  let rows: unknown[][] = [];
  while (planned < spec.events || heap.length > 0) {
    // Start the copies whose first event comes before the next pending event.
    while (planned < spec.events && (heap.length === 0 || START + copies * spec.spacingMs <= (heap[0] as Cursor).at)) startCopy();
    const c = pop();
    if (!c) break;
    const e = c.template.events[c.index] as TemplateEvent;
    const stream = render(e.stream, c.copy);
    const revision = c.revisions.get(stream) ?? 0;
    c.revisions.set(stream, revision + 1);
    const at = c.copy.startMs + e.atMs;
    rows.push([render(e.id, c.copy), stream, revision, e.type, render(e.data, c.copy), render(e.metadata, c.copy), at]);
    written++;
    if (rows.length >= 10_000) {
      flush(rows);
      rows = [];
    }
    const following = c.template.events[c.index + 1];
    if (following) push({ ...c, at: c.copy.startMs + following.atMs, index: c.index + 1 });
  }
  flush(rows);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return written;
};

/** The cached log of ≥ `events` events under `dir` (built on first use). */
export const logFile = async (dir: string, spec: LogSpec, say: (line: string) => void): Promise<string> => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `log-r${RECIPE}-${spec.events}-${spec.spacingMs}.db`);
  if (existsSync(file)) return file;
  say('recording one order of each scenario through the in-process service…');
  const templates = await recordTemplates();
  for (const t of templates) say(`  ${t.name}: ${t.events.length} events, weight ${t.weight}`);
  say(`writing ${spec.events.toLocaleString('en')} events to ${file}…`);
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  const n = writeLog(templates, spec, partial);
  renameSync(partial, file);
  say(`  ${n.toLocaleString('en')} events written`);
  return file;
};

/**
 * A log written before numbers were sealed (test/fixtures/log-before-erasure.json, written by the
 * previous version through its API): it folds, replays, projects and audits as before; its subscribers
 * can be erased (every reader says "erased", and the answer says the log still holds the number); and
 * `npm run migrate -- --encrypt-pii` copies it with every number sealed, verified, so that an erasure on
 * the copy leaves the number in no file at all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldOrder, readOrderEvent, type OrderEvent } from '../../domain/order/order.ts';
import { isSealed } from '../../domain/personal-data.ts';
import { openPersonalData } from '../../app/privacy.ts';
import { auditLog } from '../../scripts/audit/audit-log.ts';
import { copyLog } from '../../scripts/migrate/copy-log.ts';
import { checkSealed, digestWithoutPii, erasedIn, piiSealer } from '../../scripts/migrate/seal-pii.ts';
import { parsePosition, readLog, type EventStore, type NewEvent } from '../../stores/event-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { expectProblem, writesNothing } from '../api/support.ts';
import { caughtUp, getOrder } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { TOKENS } from '../support/fixtures.ts';
import { answersHolding, eraseAs, everyAnswer, filesHolding, numbersIn, search, spellings } from './support.ts';

type Fixture = {
  orders: Record<'a' | 'b' | 'c' | 'd', { orderId: string; paymentId: string }>;
  events: { streamId: string; revision: number; position: string; id: string; type: string; data: Record<string, unknown>; metadata: NewEvent['metadata'] }[];
};
const fixture = JSON.parse(readFileSync(new URL('../fixtures/log-before-erasure.json', import.meta.url), 'utf8')) as Fixture;
const { a, b, c, d } = fixture.orders;

/** The fixture's events into a new embedded store, each at its revision, in the order they were written. */
const writeLegacyLog = async (file: string): Promise<void> => {
  const store = await openSqliteEventStore(file);
  try {
    const inOrder = [...fixture.events].sort((x, y) => Number(parsePosition(x.position).commit - parsePosition(y.position).commit));
    for (const e of inOrder) {
      await store.append(e.streamId, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], e.revision === 0 ? 'no_stream' : e.revision - 1);
    }
  } finally {
    await store.close();
  }
};

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpay-legacy-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('events written before sealing, read by this version', () => {
  it('hold plain numbers, as the fixture says; they fold with the same decider into the same orders', () => {
    const placed = fixture.events.filter((e) => e.type === 'OrderPlaced');
    expect(placed.map((e) => e.data.msisdn)).toEqual(['8613800138000', '8613800138000', '8613900139000', '8613700137000']);
    const fold = (orderId: string) =>
      foldOrder(
        fixture.events
          .filter((e) => e.streamId === `order-${orderId}`)
          .flatMap((e): OrderEvent[] => {
            const o = readOrderEvent(e);
            return o ? [o] : [];
          }),
      );
    expect(fold(a.orderId)).toMatchObject({ status: 'provisioned', msisdn: '8613800138000', subscriberId: 'sub-1001' });
    expect(fold(b.orderId)).toMatchObject({ status: 'cancelled' });
    expect(fold(c.orderId)).toMatchObject({ status: 'refunded', msisdn: '8613900139000' });
    expect(fold(d.orderId)).toMatchObject({ status: 'awaiting_confirmation' });
  });

  describe('served by this version', () => {
    let t: TestLedger;
    beforeEach(async () => {
      const dataDir = tempDir();
      await writeLegacyLog(join(dataDir, 'events.db'));
      t = await startTestLedger({ DATA_DIR: dataDir, RETRY_BASE_MS: '5' }, { process: true });
      await caughtUp(t);
    });
    afterEach(async () => t.close());

    it('project, search, show and audit as before: masked to customer service, whole to the auditor', async () => {
      expect(await getOrder(t, a.orderId)).toMatchObject({ status: 'provisioned', msisdn: '138****8000' });
      expect(await getOrder(t, c.orderId)).toMatchObject({ status: 'refunded', msisdn: '139****9000' });
      expect((await search(t, 'msisdn=13800138000')).map((o) => o.orderId).sort()).toEqual([a.orderId, b.orderId].sort());
      expect(await numbersIn(t, a.orderId)).toEqual(['OrderPlaced:8613800138000', 'PaymentRequested:8613800138000']);
      expect(await numbersIn(t, a.orderId, TOKENS.service)).toEqual(['OrderPlaced:138****8000', 'PaymentRequested:138****8000']);
      const audit = await auditLog(t.service.ledger.store);
      expect(audit.findings).toEqual([]);
      expect(audit.money).toEqual({ charged: 3800 + 4500, refunded: 4500, underReview: 0, net: 3800 });
    });

    it('a retry of an order placed before sealing (same key, same body) is still a retry', async () => {
      const replay = await writesNothing(t, () => t.placeOrder({ subscriberId: 'sub-3003', msisdn: '13700137000', smartcardId: '8100000000000033' }, 'fx-d'));
      expect(replay.statusCode, replay.body).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toMatchObject({ orderId: d.orderId });
      // Another body under that key is still refused.
      expectProblem(
        await writesNothing(t, () => t.placeOrder({ subscriberId: 'sub-3003', msisdn: '13700137001', smartcardId: '8100000000000033' }, 'fx-d')),
        422,
        'idempotency-key-reused',
      );
    });

    it('erasing a subscriber whose numbers are in plain text: every reader says "erased"; the answer says the log still holds it', async () => {
      const res = await eraseAs(t, TOKENS.admin, 'sub-1001');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'erased', keysDestroyed: 0, plainNumbersInLog: true });
      await caughtUp(t);
      expect(await numbersIn(t, a.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      expect(await search(t, 'msisdn=13800138000')).toEqual([]);
      const answers = await everyAnswer(t, { orders: [a, b], subscriberId: 'sub-1001', smartcardId: '8100000000001001', msisdn: '13800138000' });
      expect(answersHolding(answers, [...spellings('13800138000'), '138****8000'])).toEqual([]);
      // What crypto-shredding cannot do: the plain number is still in the log file, until the migration.
      expect(filesHolding(t.env.DATA_DIR ?? '', ['8613800138000'])).toContain('events.db: 8613800138000');
      // The subscriber with an order in flight is refused, and keeps the number.
      expectProblem(await writesNothing(t, () => eraseAs(t, TOKENS.admin, 'sub-3003')), 409, 'orders-in-flight');
      expect(await numbersIn(t, d.orderId)).toEqual(['OrderPlaced:8613700137000', 'PaymentRequested:8613700137000']);
    });
  });
});

describe('npm run migrate -- --encrypt-pii', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('--help exits 0 and touches no store', () => {
    const nowhere = join(tmpdir(), `tvpay-never-${process.pid}-${Date.now()}`);
    const r = cli(['--help'], { DATA_DIR: nowhere, EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run migrate/);
    expect(r.stdout).toContain('--encrypt-pii');
    expect(existsSync(nowhere)).toBe(false);
  });

  it('refuses an unknown option, a copy onto its own source, and no target (64), and a missing source (69), touching nothing', () => {
    const dir = tempDir();
    expect(cli(['--encrypt'], { DATA_DIR: dir }).status).toBe(64);
    expect(cli(['--encrypt-pii', '--to', join(dir, 'events.db')], { DATA_DIR: dir }).status).toBe(64);
    expect(cli(['--encrypt-pii'], { DATA_DIR: dir }).status).toBe(64);
    expect(cli(['--encrypt-pii', '--to', join(dir, 'copy.db')], { DATA_DIR: dir }).status).toBe(69);
    expect(existsSync(join(dir, 'copy.db'))).toBe(false);
  });

  it('copies the log with every number sealed, verified; the service runs on the copy, and an erasure there leaves the number in no file', {
    timeout: 180_000,
  }, async () => {
    const source = tempDir();
    await writeLegacyLog(join(source, 'events.db'));
    const target = tempDir();
    const copy = join(target, 'events.db');
    // The service on the copy will use the key store and master key the migration sealed with.
    const env = { DATA_DIR: source, DATA_KEYS_FILE: join(target, 'keys.db'), DATA_KEY_SECRET: 'migration-master-secret-0123456789abcdef' };
    // One subscriber was erased before the migration: the copy must not carry their number.
    {
      const t = await startTestLedger({ ...env, RETRY_BASE_MS: '5' }, { process: true });
      try {
        await caughtUp(t);
        expect((await eraseAs(t, TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
      } finally {
        await t.close();
      }
    }

    const events = await openSqliteEventStore(join(source, 'events.db'));
    const count = (await digestWithoutPii(events)).count;
    await events.close();
    const r = cli(['--encrypt-pii', '--to', copy], env);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`verified: ${count} events,`);
    expect(r.stdout).toMatch(
      /^verified: \d+ events, digest of every non-personal field [0-9a-f]{16}… identical in both stores; 8 phone numbers sealed, each opens to the source's \(1 erased subscriber\(s\) keep none\)$/m,
    );
    // The copy's files hold no number in any spelling; the source still does (the operator destroys it).
    const everyNumber = ['13800138000', '13900139000', '13700137000'].flatMap(spellings);
    expect(filesHolding(target, everyNumber)).toEqual([]);
    expect(filesHolding(source, everyNumber)).not.toEqual([]);

    // Served on the copy (its own data directory; read models built from it).
    const t = await startTestLedger({ ...env, DATA_DIR: target, RETRY_BASE_MS: '5' }, { process: true });
    try {
      await caughtUp(t);
      expect(await numbersIn(t, a.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      expect(await numbersIn(t, c.orderId)).toEqual(['OrderPlaced:8613900139000', 'PaymentRequested:8613900139000']);
      expect(await getOrder(t, c.orderId)).toMatchObject({ status: 'refunded', msisdn: '139****9000' });
      expect((await search(t, 'msisdn=13900139000')).map((o) => o.orderId)).toEqual([c.orderId]);
      const audit = await auditLog(t.service.ledger.store);
      expect(audit.findings).toEqual([]);
      expect(audit.money).toEqual({ charged: 3800 + 4500, refunded: 4500, underReview: 0, net: 3800 });
      // A retry of an order placed before the migration is still a retry: its digest was sealed the same way.
      const replay = await t.placeOrder({ subscriberId: 'sub-3003', msisdn: '13700137000', smartcardId: '8100000000000033' }, 'fx-d');
      expect(replay.statusCode, replay.body).toBe(200);

      expect((await eraseAs(t, TOKENS.admin, 'sub-2002')).json()).toMatchObject({ keysDestroyed: 1, plainNumbersInLog: false });
      await caughtUp(t);
      expect(await numbersIn(t, c.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      expect(filesHolding(target, everyNumber)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('sealing a copy of the log', () => {
  const MASTER = ['copy-master-secret-0123456789abcdef-0123'];
  let dir: string;
  let source: EventStore;
  let target: EventStore;
  beforeEach(async () => {
    dir = tempDir();
    await writeLegacyLog(join(dir, 'events.db'));
    source = await openSqliteEventStore(join(dir, 'events.db'));
    target = await openSqliteEventStore(join(dir, 'copy.db'));
  });
  afterEach(async () => {
    await source.close();
    await target.close();
  });

  const privacy = () => openPersonalData({ mongodb: undefined, dataKeysFile: join(dir, 'keys.db'), dataKeySecrets: MASTER }, target, () => new Date());

  it('is deterministic: copied again from the start, every event is the same, and the target keeps one of each', async () => {
    const { personalData, keys } = await privacy();
    try {
      const sealer = piiSealer(source, personalData, await erasedIn(source));
      await copyLog(source, target, { from: 'start', onBatch: () => undefined, transform: sealer, batchSize: 7 });
      const first = await digestWithoutPii(target);
      const sealed = [];
      for await (const e of readLog(target)) if (isSealed(e.data.msisdn)) sealed.push(e.data.msisdn);
      await copyLog(source, target, { from: 'start', onBatch: () => undefined, transform: piiSealer(source, personalData, new Set()), batchSize: 5 });
      expect(await digestWithoutPii(target)).toEqual(first);
      expect(first.count).toBe(fixture.events.length);
      expect(sealed).toHaveLength(8);
      expect((await checkSealed(source, target, personalData, new Set())).mismatched).toEqual([]);
    } finally {
      await keys.close();
    }
  });

  it('the checks catch a copy that differs: a number that opens to another, a changed amount', async () => {
    const { personalData, keys } = await privacy();
    try {
      const honest = piiSealer(source, personalData, new Set());
      await copyLog(source, target, {
        from: 'start',
        onBatch: () => undefined,
        transform: async (e) => {
          const data = await honest(e);
          if (e.streamId === `payment-${c.paymentId}` && e.type === 'PaymentRequested')
            return { ...data, msisdn: await personalData.seal('sub-2002', '8613900139001') };
          if (e.streamId === `order-${a.orderId}` && e.type === 'OrderPaid') return { ...data, amount: { value: 1, currency: 'CNY' } };
          return data;
        },
      });
      const check = await checkSealed(source, target, personalData, new Set());
      expect(check.mismatched).toEqual([`payment-${c.paymentId}@0`]);
      expect((await digestWithoutPii(target)).digest).not.toBe((await digestWithoutPii(source)).digest);
      expect(isSealed((await target.readStream(`payment-${c.paymentId}`))[0]?.data.msisdn)).toBe(true);
    } finally {
      await keys.close();
    }
  });
});

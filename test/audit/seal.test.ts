/**
 * Tamper-evident seals (npm run seal, npm run audit) on both event stores: a log the service wrote
 * and sealed verifies; one byte changed, an event deleted, two events swapped are each caught and
 * located at the event that differs; a log sealed on SQLite verifies after migrating to EventStoreDB.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_CHAIN, SEALS_STREAM, sealLog, startDailySeal } from '../../commands/seal-log.ts';
import { auditLog } from '../../scripts/audit/audit-log.ts';
import { copyLog } from '../../scripts/migrate/copy-log.ts';
import { openEsdbEventStore } from '../../stores/esdb/event-store.ts';
import type { EventStore, RecordedEvent } from '../../stores/event-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { startEsdbStandIn, type EsdbStandIn } from '../support/esdb-standin/server.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { caughtUp, eventually, orderInStatus, placeAndConfirm } from '../flow/support.ts';
import { esdbTamper, sqliteTamper, type Tamper } from './tamper.ts';
import { rmSync } from 'node:fs';

type Backend = {
  name: string;
  start(): Promise<{ env: Record<string, string>; open(dataDir: string): Promise<EventStore>; tamper(dataDir: string): Tamper; close(): Promise<void> }>;
};

const backends: Backend[] = [
  {
    name: 'SQLite',
    start: async () => ({
      env: {},
      open: (dataDir) => openSqliteEventStore(join(dataDir, 'events.db')),
      tamper: (dataDir) => sqliteTamper(join(dataDir, 'events.db')),
      close: async () => undefined,
    }),
  },
  {
    name: 'EventStoreDB (stand-in)',
    start: async () => {
      const standIn: EsdbStandIn = await startEsdbStandIn({ batchAppend: true });
      return {
        env: { EVENTSTORE_URL: standIn.connectionString },
        open: () => openEsdbEventStore(standIn.connectionString),
        tamper: () => esdbTamper(standIn),
        close: () => standIn.close(),
      };
    },
  },
];

const clock = () => new Date('2026-11-26T00:00:00.000Z');

/** A provisioned order and a declined one, written by the service, then the service stopped. */
const writeLog = async (t: TestLedger): Promise<void> => {
  const paid = await placeAndConfirm(t, 'seal-paid');
  const declined = (await t.placeOrder({ productId: 'opera-month', smartcardId: 'card-2' }, 'seal-declined')).json<{ orderId: string; paymentId: string }>();
  await t.app.inject({ method: 'POST', url: `/v1/payments/${declined.paymentId}/decline`, headers: { authorization: 'Bearer test-phone-app-token' } });
  await orderInStatus(t, paid.orderId, 'provisioned');
  await orderInStatus(t, declined.orderId, 'cancelled');
  await caughtUp(t);
};

const sealFindings = (r: Awaited<ReturnType<typeof auditLog>>) => r.findings.filter((f) => f.check === 'seal');

describe.each(backends)('seals on $name', (backend) => {
  let stack: Awaited<ReturnType<Backend['start']>>;
  let t: TestLedger;
  let store: EventStore;
  let log: RecordedEvent[];

  beforeEach(async () => {
    stack = await backend.start();
    t = await startTestLedger({ ...stack.env, RETRY_BASE_MS: '5' }, { process: true });
    await writeLog(t);
    await t.service.close();
    store = await stack.open(t.dataDir);
    // Small seals, so the log has several and a tampered event sits in one of them.
    const first = await sealLog(store, clock, { maxEventsPerSeal: 8 });
    expect(first.sealed.length).toBeGreaterThan(2);
    log = await store.readAll('start', 10_000);
  });
  afterEach(async () => {
    await store.close();
    await stack.close();
    rmSync(t.dataDir, { recursive: true, force: true });
  });

  const reopen = async (): Promise<void> => {
    await store.close();
    store = await stack.open(t.dataDir);
  };
  /** An event of the first seal's segment that is not a seal. */
  const inFirstSeal = (type: string): RecordedEvent => {
    const found = log.slice(0, 8).find((e) => e.type === type);
    if (!found)
      throw new Error(
        `no ${type} among the first 8 events: ${log
          .slice(0, 8)
          .map((e) => e.type)
          .join(', ')}`,
      );
    return found;
  };

  it('a log the service wrote and sealed verifies; the chain is continued, never restarted', async () => {
    const report = await auditLog(store);
    expect(sealFindings(report)).toEqual([]);
    const seals = log.filter((e) => e.streamId === SEALS_STREAM);
    expect(report.seals).toMatchObject({ seals: seals.length, verified: seals.length, unsealed: 0 });
    expect(seals.map((s) => s.data.sealNo)).toEqual(seals.map((_, i) => i + 1));
    expect(seals[0]?.data.previous).toBe(GENESIS_CHAIN);
    expect(seals[1]?.data.previous).toBe(seals[0]?.data.chain);

    expect((await sealLog(store, clock)).sealed).toEqual([]); // only seals since: nothing new
    await store.append('order-extra', [{ id: crypto.randomUUID(), type: 'OrderExpired', data: {}, metadata: log[0]!.metadata }], 'no_stream');
    const next = await sealLog(store, clock);
    // The next seal covers the seals appended last time, and the new event.
    expect(next.sealed).toEqual([
      expect.objectContaining({ sealNo: seals.length + 1, previous: seals.at(-1)?.data.chain, from: log.length - seals.length + 1, to: log.length + 1 }),
    ]);
    expect((await auditLog(store)).seals).toMatchObject({ verified: seals.length + 1, unsealed: 0 });
  });

  it('two sealers at once: every seal number once, the chain unbroken', async () => {
    await store.append('order-extra', [{ id: crypto.randomUUID(), type: 'OrderExpired', data: {}, metadata: log[0]!.metadata }], 'no_stream');
    await Promise.all([sealLog(store, clock, { maxEventsPerSeal: 2 }), sealLog(store, clock, { maxEventsPerSeal: 2 })]);
    const seals = (await store.readStream(SEALS_STREAM)).map((e) => e.data.sealNo);
    expect(seals).toEqual(seals.map((_, i) => i + 1));
    const report = await auditLog(store);
    expect(sealFindings(report)).toEqual([]);
    expect(report.seals).toMatchObject({ verified: seals.length, unsealed: 0 });
  });

  it('one byte of one event changed: caught and located at that event', async () => {
    const target = inFirstSeal('OrderPlaced');
    stack.tamper(t.dataDir).changeByte(target.id);
    await reopen();
    const report = await auditLog(store);
    expect(sealFindings(report)).toEqual([
      expect.objectContaining({
        rule: 'event-changed',
        event: expect.objectContaining({ eventId: target.id, streamId: target.streamId, revision: target.revision }),
      }),
    ]);
    expect(sealFindings(report)[0]?.message).toMatch(/^seal #1: .*differs from the event sealed as #\d+ \(its content was changed\)/);
    expect(report.seals.verified).toBe(report.seals.seals - 1); // only the seal over it fails
  });

  it('an event deleted: caught, the place named, later seals unaffected', async () => {
    const target = log[3]!;
    stack.tamper(t.dataDir).deleteEvent(target.id);
    await reopen();
    const report = await auditLog(store);
    expect(sealFindings(report)).toEqual([expect.objectContaining({ rule: 'event-deleted', event: expect.objectContaining({ eventId: log[4]!.id }) })]);
    expect(sealFindings(report)[0]?.message).toContain('the event sealed as #4 is missing (deleted)');
    expect(report.seals.verified).toBe(report.seals.seals - 1);
  });

  it('two events swapped: caught, both named', async () => {
    const [a, b] = [log[1]!, log[5]!];
    stack.tamper(t.dataDir).swap(a.id, b.id);
    await reopen();
    const report = await auditLog(store);
    expect(sealFindings(report)).toEqual([expect.objectContaining({ rule: 'events-swapped', event: expect.objectContaining({ eventId: b.id }) })]);
    expect(sealFindings(report)[0]?.message).toContain(a.id);
    expect(report.seals.verified).toBe(report.seals.seals - 1);
  });

  it('a seal deleted: the next seal says one is missing', async () => {
    const seal2 = log.find((e) => e.streamId === SEALS_STREAM && e.data.sealNo === 2)!;
    stack.tamper(t.dataDir).deleteEvent(seal2.id);
    await reopen();
    const rules = sealFindings(await auditLog(store)).map((f) => f.rule);
    expect(rules).toContain('seal-sequence');
  });
});

describe('one canonical form on both stores', () => {
  it('a log sealed on SQLite verifies after npm run migrate copied it to EventStoreDB', async () => {
    const t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
    const standIn = await startEsdbStandIn({ batchAppend: true });
    try {
      await writeLog(t);
      await t.service.close();
      const source = await openSqliteEventStore(join(t.dataDir, 'events.db'));
      const target = await openEsdbEventStore(standIn.connectionString);
      try {
        const sealed = await sealLog(source, clock, { maxEventsPerSeal: 8 });
        await copyLog(source, target, { from: 'start', onBatch: () => undefined });
        const report = await auditLog(target);
        expect(sealFindings(report)).toEqual([]);
        expect(report.seals).toMatchObject({ verified: sealed.sealed.length, unsealed: 0 });
        // Sealing goes on from the other store's seals.
        expect((await sealLog(target, clock)).head).toEqual(sealed.head);
      } finally {
        await source.close();
        await target.close();
      }
    } finally {
      await standIn.close();
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});

describe('the daily seal in the service', () => {
  it('seals once a day by the service clock, and not before', { timeout: 90_000 }, async () => {
    const t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
    try {
      await writeLog(t);
      const logger = { info: () => undefined, error: () => undefined };
      let checks = 0;
      const daily = startDailySeal({ store: t.service.ledger.store, now: () => t.clock.now, logger, checkEveryMs: 5, onChecked: () => void checks++ });
      try {
        const sealsNow = async () => (await t.service.ledger.store.readStream(SEALS_STREAM)).length;
        await eventually(t, async () => ((await sealsNow()) === 1 ? true : undefined), 'the first seal');
        await placeAndConfirm(t, 'seal-later');
        t.clock.advance(23 * 3600);
        const seen = checks;
        await eventually(t, async () => (checks >= seen + 3 ? true : undefined), 'three more looks');
        expect(await sealsNow()).toBe(1);
        t.clock.advance(3600);
        await eventually(t, async () => ((await sealsNow()) === 2 ? true : undefined), 'the second seal, a day later');
      } finally {
        daily.stop();
      }
    } finally {
      await t.close();
    }
  });
});

/**
 * The audit that re-decides: a log written by the service, copied untouched, has no finding; each
 * kind of anomaly injected into a copy of it is caught, and the report's first finding for the
 * stream names the offending event and the rule it breaks.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, type AuditReport } from '../../scripts/audit/audit-log.ts';
import { formatAudit } from '../../scripts/audit/format.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openEsdbEventStore } from '../../stores/esdb/event-store.ts';
import { copyLog } from '../../scripts/migrate/copy-log.ts';
import { startEsdbStandIn } from '../support/esdb-standin/server.ts';
import { startTestLedger } from '../support/ledger-app.ts';
import { writeCopy, writeServiceLog, type ServiceLog } from './service-log.ts';

let log: ServiceLog;
let dir: string;
let copies = 0;

beforeAll(async () => {
  const t = await startTestLedger({ RETRY_BASE_MS: '5', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
  try {
    log = await writeServiceLog(t);
  } finally {
    await t.close();
  }
  dir = mkdtempSync(join(tmpdir(), 'tvpay-anomalies-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Audits a copy of the service's log, changed by `tamper`. */
const auditCopy = async (tamper: (events: RecordedEvent[]) => RecordedEvent[] | undefined): Promise<AuditReport> => {
  const events = structuredClone(log.events);
  const changed = tamper(events) ?? events;
  const file = join(dir, `copy-${++copies}.db`);
  writeCopy(file, changed);
  const store = await openSqliteEventStore(file);
  try {
    return await auditLog(store);
  } finally {
    await store.close();
  }
};

const order = (p: { orderId: string }) => `order-${p.orderId}`;
const payment = (p: { paymentId: string }) => `payment-${p.paymentId}`;

const indexOf = (events: RecordedEvent[], streamId: string, type: string, nth = 0): number => {
  const all = events.flatMap((e, i) => (e.streamId === streamId && e.type === type ? [i] : []));
  const i = all[nth];
  if (i === undefined) throw new Error(`no ${type} #${nth} in ${streamId}`);
  return i;
};
const eventAt = (events: RecordedEvent[], i: number): RecordedEvent => {
  const e = events[i];
  if (!e) throw new Error(`no event at ${i}`);
  return e;
};
const edit = (events: RecordedEvent[], streamId: string, type: string, change: (data: Record<string, unknown>) => void, nth = 0): RecordedEvent => {
  const e = eventAt(events, indexOf(events, streamId, type, nth));
  change(e.data);
  return e;
};
/** A forged event appended to a stream at its next revision, at the end of the log (or after `after`). */
const forge = (events: RecordedEvent[], streamId: string, type: string, data: Record<string, unknown>, after?: number): RecordedEvent => {
  const revision = Math.max(-1, ...events.filter((e) => e.streamId === streamId).map((e) => e.revision)) + 1;
  const like = eventAt(events, events.length - 1);
  const e: RecordedEvent = { ...like, id: randomUUID(), streamId, revision, type, data, metadata: { ...like.metadata, causationId: 'forged-request' } };
  events.splice(after === undefined ? events.length : after + 1, 0, e);
  return e;
};

/** The first finding of the stream: its rule and the event it names. */
const firstOf = (r: AuditReport, streamId: string) => {
  const found = r.first.find((f) => f.finding.event?.streamId === streamId);
  if (!found) throw new Error(`no finding for ${streamId}; report:\n${formatAudit(r)}`);
  return { rule: found.finding.rule, check: found.finding.check, eventId: found.finding.event?.eventId, message: found.finding.message };
};

/** The event's cause replaced by a request, as if no event of the ledger had caused it. */
const causedByARequest = (e: RecordedEvent): void => {
  e.metadata = { ...e.metadata, causationId: 'a-request' };
};

/** One event of the service's log changed in place: the stream's first finding names that event. */
const changedInPlace: {
  name: string;
  stream: () => string;
  type: string;
  change: (e: RecordedEvent) => unknown;
  /** What the stream's first finding says, besides the event. */
  first: { rule?: string; check?: string; message?: unknown };
  /** Rules among the findings on the changed event. */
  onIt?: string[];
}[] = [
  {
    name: 'the amount of a PaymentSucceeded rewritten to 1 fen',
    stream: () => payment(log.provisioned),
    type: 'PaymentSucceeded',
    change: (e) => Object.assign(e.data, { amount: { value: 1, currency: 'CNY' } }),
    first: { rule: 'not-decided', message: expect.stringContaining('the decider records PaymentFlagged, not PaymentSucceeded') },
  },
  {
    name: 'a refund paid for another amount than was requested',
    stream: () => payment(log.refunded),
    type: 'PaymentRefunded',
    change: (e) => Object.assign(e.data, { amount: { value: 4000, currency: 'CNY' } }),
    first: { rule: 'refund-differs' },
  },
  {
    name: 'OrderPaid with another amount than the payment that caused it',
    stream: () => order(log.provisioned),
    type: 'OrderPaid',
    change: (e) => Object.assign(e.data, { amount: { value: 380, currency: 'CNY' } }),
    first: {},
    onIt: ['amount', 'not-decided'],
  },
  {
    name: 'OrderPaid that no PaymentSucceeded caused (a forged payment)',
    stream: () => order(log.provisioned),
    type: 'OrderPaid',
    change: causedByARequest,
    first: { rule: 'missing-cause', check: 'causation' },
  },
  {
    name: 'channels opened for longer than was paid for',
    stream: () => order(log.queried),
    type: 'OrderProvisioned',
    change: (e) => Object.assign(e.data, { validUntil: new Date(Date.parse(String(e.data.validUntil)) + 30 * 86_400_000).toISOString() }),
    first: { rule: 'goods-differ' },
  },
  {
    name: 'paid by another trade than the one created for the payment',
    stream: () => payment(log.provisioned),
    type: 'PaymentSucceeded',
    change: (e) => Object.assign(e.data, { tradeNo: 'T-someone-else' }),
    first: { rule: 'trade' },
  },
  {
    name: 'a revision missing in a stream',
    stream: () => order(log.refunded),
    type: 'OrderRefunded',
    change: (e) => Object.assign(e, { revision: e.revision + 1 }),
    first: { rule: 'revision-gap', check: 'revision' },
  },
  {
    name: 'ids: a payment id that is not derived from its order',
    stream: () => order(log.declined),
    type: 'OrderPlaced',
    change: (e) => Object.assign(e.data, { paymentId: randomUUID() }),
    first: { rule: 'ids' },
  },
  {
    name: 'a payment requested for another amount than the order costs',
    stream: () => payment(log.declined),
    type: 'PaymentRequested',
    change: (e) => Object.assign(e.data, { amount: { value: 100, currency: 'CNY' } }),
    first: {
      rule: 'not-decided',
      message: expect.stringContaining('amount: decided {"currency":"CNY","value":1200}, recorded {"currency":"CNY","value":100}'),
    },
  },
  {
    name: 'OrderRefunded for another amount than the refund that caused it',
    stream: () => order(log.refunded),
    type: 'OrderRefunded',
    change: (e) => Object.assign(e.data, { amount: { value: 1, currency: 'CNY' } }),
    first: { rule: 'not-decided' },
  },
  {
    name: 'an order cancelled as declined that no PaymentDeclined caused',
    stream: () => order(log.declined),
    type: 'OrderCancelled',
    change: causedByARequest,
    first: { rule: 'missing-cause' },
  },
  {
    name: 'a wrong code with a forged count of attempts left',
    stream: () => payment(log.wrongCodes),
    type: 'PaymentCodeRejected',
    change: (e) => Object.assign(e.data, { attemptsLeft: 40 }),
    first: { rule: 'not-decided' },
  },
  {
    name: 'an order expired before its payment deadline',
    stream: () => order(log.expired),
    type: 'OrderExpired',
    change: (e) => Object.assign(e.data, { at: '2026-11-25T08:00:01.000Z' }),
    first: { rule: 'decider-no-op' },
  },
  {
    name: "an event in another order's stream",
    stream: () => order(log.failed),
    type: 'OrderPaymentFailed',
    change: (e) => Object.assign(e.data, { orderId: log.flagged.orderId }),
    first: {},
  },
];

describe('a log written by the service', () => {
  it('copied untouched: no finding, every fen accounted for', async () => {
    const r = await auditCopy(() => undefined);
    expect(r.findings).toEqual([]);
    expect(r.orders).toEqual({ expired: 1, provisioned: 3, refunded: 3, cancelled: 2, payment_failed: 1 });
    expect(r.money).toMatchObject({ underReview: 0, net: 3800 + 3800 + 3700 });
    expect(r.stranded).toEqual([]);
  });
});

describe('each anomaly injected into a copy is caught, and named', () => {
  for (const { name, stream, type, change, first, onIt = [] } of changedInPlace) {
    it(name, async () => {
      let target!: RecordedEvent;
      const r = await auditCopy((ev) => {
        target = eventAt(ev, indexOf(ev, stream(), type));
        change(target);
      });
      expect(firstOf(r, stream())).toMatchObject({ ...first, eventId: target.id });
      expect(r.findings.filter((f) => f.event?.eventId === target.id).map((f) => f.rule)).toEqual(expect.arrayContaining(onIt));
    });
  }

  it('a refund on a payment whose order stays provisioned: the subscriber keeps the channels and the money', async () => {
    let forged!: RecordedEvent;
    const r = await auditCopy((ev) => {
      forged = forge(ev, payment(log.provisioned), 'PaymentRefunded', {
        paymentId: log.provisioned.paymentId,
        orderId: log.provisioned.orderId,
        refundNo: 'R-x',
        amount: { value: 3800, currency: 'CNY' },
        at: '2026-11-25T09:00:00.000Z',
      });
    });
    expect(firstOf(r, payment(log.provisioned))).toMatchObject({ rule: 'refund-with-goods', check: 'money', eventId: forged.id });
    expect(r.findings.map((f) => f.rule)).toContain('refund-with-goods');
  });

  it('an expired order that later shows OrderProvisioned', async () => {
    let forged!: RecordedEvent;
    const r = await auditCopy((ev) => {
      forged = forge(ev, order(log.expired), 'OrderProvisioned', {
        orderId: log.expired.orderId,
        requestNo: 0,
        bossRef: 'B-x',
        validFrom: '2026-11-25T09:00:00.000Z',
        validUntil: '2026-12-25T09:00:00.000Z',
        at: '2026-11-25T09:00:00.000Z',
      });
    });
    expect(firstOf(r, order(log.expired))).toMatchObject({ rule: 'goods-without-money', eventId: forged.id });
    const rules = r.findings.filter((f) => f.event?.eventId === forged.id).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['goods-without-money', 'decider-refuses']));
  });

  it('a refund above the charge', async () => {
    let requested!: RecordedEvent;
    const r = await auditCopy((ev) => {
      requested = edit(ev, payment(log.refunded), 'PaymentRefundRequested', (d) => {
        d.amount = { value: 9000, currency: 'CNY' };
      });
      edit(ev, payment(log.refunded), 'PaymentRefunded', (d) => {
        d.amount = { value: 9000, currency: 'CNY' };
      });
    });
    expect(firstOf(r, payment(log.refunded))).toMatchObject({ rule: 'refund-above-charge', eventId: requested.id });
  });

  it('a refund with no provisioning failure before it (the order was paid, its goods on their way)', async () => {
    let requested!: RecordedEvent;
    const r = await auditCopy((ev) => {
      ev.splice(indexOf(ev, order(log.refunded), 'OrderProvisioningFailed'), 1);
      requested = eventAt(ev, indexOf(ev, payment(log.refunded), 'PaymentRefundRequested'));
    });
    expect(firstOf(r, payment(log.refunded))).toMatchObject({ rule: 'refund-with-goods', eventId: requested.id });
    expect(r.findings.filter((f) => f.event?.eventId === requested.id).map((f) => f.rule)).toContain('missing-cause');
  });

  it('money taken for an order that never accepted its payment (OrderPaymentPending removed)', async () => {
    let submitted!: RecordedEvent;
    const r = await auditCopy((ev) => {
      ev.splice(indexOf(ev, order(log.queried), 'OrderPaymentPending'), 1);
      submitted = eventAt(ev, indexOf(ev, payment(log.queried), 'PaymentSubmitted'));
    });
    expect(firstOf(r, payment(log.queried))).toMatchObject({ rule: 'money-without-order', eventId: submitted.id });
    expect(r.findings.map((f) => f.rule)).toContain('revision-gap'); // and the order stream has a hole
  });

  it('an effect recorded before its cause (OrderPaid moved before its PaymentSucceeded)', async () => {
    let paid!: RecordedEvent;
    const r = await auditCopy((ev) => {
      const from = indexOf(ev, order(log.provisioned), 'OrderPaid');
      [paid] = ev.splice(from, 1) as [RecordedEvent];
      ev.splice(indexOf(ev, payment(log.provisioned), 'PaymentSucceeded'), 0, paid);
    });
    const rules = r.findings.filter((f) => f.event?.eventId === paid.id).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['effect-before-cause', 'missing-cause']));
  });

  it('an event type no aggregate knows', async () => {
    let forged!: RecordedEvent;
    const r = await auditCopy((ev) => {
      forged = forge(ev, order(log.provisioned), 'OrderTeleported', { orderId: log.provisioned.orderId });
    });
    expect(firstOf(r, order(log.provisioned))).toMatchObject({ rule: 'unknown-event-type', check: 'schema', eventId: forged.id });
  });

  it('a second PaymentSucceeded for a payment already paid', async () => {
    let copy!: RecordedEvent;
    const r = await auditCopy((ev) => {
      const original = eventAt(ev, indexOf(ev, payment(log.provisioned), 'PaymentSucceeded'));
      copy = forge(ev, payment(log.provisioned), 'PaymentSucceeded', { ...original.data, notificationId: 'N-again' });
    });
    expect(firstOf(r, payment(log.provisioned))).toMatchObject({ rule: 'decider-no-op', eventId: copy.id });
    // The journal books the money twice where the payment holds it once: the audit says they disagree.
    expect(r.findings.filter((f) => f.check === 'journal').map((f) => f.rule)).toContain('journal-kept');
  });

  it('the fifth wrong code without the failure it decides', async () => {
    let last!: RecordedEvent;
    const r = await auditCopy((ev) => {
      ev.splice(indexOf(ev, payment(log.wrongCodes), 'PaymentFailed'), 1);
      last = eventAt(ev, indexOf(ev, payment(log.wrongCodes), 'PaymentCodeRejected', 4));
    });
    expect(firstOf(r, payment(log.wrongCodes))).toMatchObject({ rule: 'decision-incomplete', eventId: last.id });
  });

  it('two events with the same id (EventStoreDB allows it across streams; SQLite refuses it)', async () => {
    const standIn = await startEsdbStandIn({ batchAppend: true });
    const store = await openEsdbEventStore(standIn.connectionString);
    try {
      const source = join(dir, `copy-${++copies}.db`);
      writeCopy(source, log.events);
      const from = await openSqliteEventStore(source);
      await copyLog(from, store, { from: 'start', onBatch: () => undefined });
      await from.close();
      const first = log.events.find((e) => e.streamId === order(log.flagged) && e.type === 'OrderPlaced')!;
      const second = log.events.find((e) => e.streamId === order(log.flagged) && e.type === 'OrderPaymentPending')!;
      standIn.rewrite((records) => records.map((r) => (r.id === second.id ? { ...r, id: first.id } : r)));
      const r = await auditLog(store);
      expect(r.findings.filter((f) => f.event?.streamId === order(log.flagged)).map((f) => f.rule)).toContain('duplicate-event-id');
    } finally {
      await store.close();
      await standIn.close();
    }
  });
});

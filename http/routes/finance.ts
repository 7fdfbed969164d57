/**
 * Finance for auditors (admin), in fen: the money ledger (daily totals and the entries behind them),
 * and the double-entry journal (projections/journal.ts): its entries, with filters or as CSV, and
 * the trial balance of any day, where debits equal credits.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ACCOUNTS, ACCOUNT_IDS, ENTRY_KINDS, balancesOf, nextDay, type Account, type JournalLine } from '../../domain/accounts.ts';
import { FINANCE_ENTRIES, FINANCE_KINDS } from '../../projections/finance.ts';
import { assertNever } from '../../domain/never.ts';
import { JOURNAL_ENTRIES } from '../../projections/journal.ts';
import type { ReadView } from '../../projections/projection.ts';
import { InvalidQuery, everyDoc, type Doc, type Scalar } from '../../stores/read-store.ts';
import { HttpProblem } from '../problem.ts';
import { instant, money } from '../schemas.ts';

/** The days this ledger can hold: past the last one, the next day is no longer a four-digit year. */
const FIRST_DAY = '2000-01-01';
const LAST_DAY = '9999-12-30';
const day = z.iso
  .date()
  .refine((d) => d >= FIRST_DAY && d <= LAST_DAY, { message: `a day from ${FIRST_DAY} to ${LAST_DAY}` })
  .describe('accounting day, China Standard Time (UTC+8)');
const MAX_DAYS = 93;

const daysBetween = (from: string, to: string): number => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/**
 * A range of days, from ≤ to, at most MAX_DAYS; the range is judged only once both days are valid
 * (an invalid day is named alone, not as a range error too).
 */
const inDayRange = <S extends z.ZodType<{ from: string; to: string }>>(schema: S) =>
  schema
    .refine((q) => !bothDays(q) || q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
    .refine((q) => !bothDays(q) || daysBetween(q.from, q.to) < MAX_DAYS, { message: `at most ${MAX_DAYS} days at once`, path: ['to'] });
const bothDays = (q: { from: string; to: string }): boolean => day.safeParse(q.from).success && day.safeParse(q.to).success;

type Tally = { count: number; fen: number };
type DayTotals = { day: string; charges: Tally; refunds: Tally; flagged: Tally; flaggedRefunds: Tally; netFen: number };

const emptyTally = (): Tally => ({ count: 0, fen: 0 });
const emptyDay = (d: string): DayTotals => ({
  day: d,
  charges: emptyTally(),
  refunds: emptyTally(),
  flagged: emptyTally(),
  flaggedRefunds: emptyTally(),
  netFen: 0,
});

/** What a day's totals read of a stored finance entry; a malformed one is a read-model bug: it throws. */
const storedAmount = z.object({ amount: z.object({ value: z.number().int(), currency: z.string() }) });
const fenOf = (entry: Doc): number => storedAmount.parse(entry).amount.value;

/** Counts an entry into its day: charges and refunds make the net; flagged money, and its going back, is kept apart. */
const add = (t: DayTotals, entry: Doc): void => {
  const fen = fenOf(entry);
  const into = tallyOf(t, String(entry.kind));
  if (!into) return;
  into.count += 1;
  into.fen += fen;
  if (into === t.charges || into === t.refunds) t.netFen += fen;
};
const tallyOf = (t: DayTotals, kind: string): Tally | undefined => {
  const known = FINANCE_KINDS.find((k) => k === kind);
  switch (known) {
    case 'charge':
      return t.charges;
    case 'refund':
      return t.refunds;
    case 'flagged':
      return t.flagged;
    case 'flagged_refund':
      return t.flaggedRefunds;
    case undefined:
      return undefined;
    default:
      return assertNever(known);
  }
};

const tally = z.object({ count: z.number().int(), amount: money });
/** The net may be negative (a day with more refunds than charges). */
const signedMoney = z.object({ value: z.number().int(), currency: z.literal('CNY') });
const dayOut = z
  .object({
    day: z.string(),
    charges: tally,
    refunds: tally,
    flagged: tally,
    flaggedRefunds: tally.describe('flagged money returned (positive): never a charge, so neither a refund of one nor part of the net'),
    net: signedMoney,
  })
  .meta({
    id: 'FinanceDay',
    description:
      'One accounting day (or, as `total`, the whole range `from..to`): charges, refunds (money returned, positive), flagged for review, flagged money returned, and the net of charges and refunds.',
    example: {
      day: '2026-11-25',
      charges: { count: 12, amount: { value: 45600, currency: 'CNY' } },
      refunds: { count: 1, amount: { value: 3800, currency: 'CNY' } },
      flagged: { count: 0, amount: { value: 0, currency: 'CNY' } },
      flaggedRefunds: { count: 0, amount: { value: 0, currency: 'CNY' } },
      net: { value: 41800, currency: 'CNY' },
    },
  });
const financeEntry = z
  .object({
    id: z.string(),
    day: z.string(),
    at: instant,
    kind: z.enum(FINANCE_KINDS),
    paymentId: z.string(),
    orderId: z.string(),
    amount: signedMoney.describe('integer fen; money going back (a refund, flagged money returned) is negative'),
  })
  .loose()
  .meta({
    id: 'FinanceEntry',
    description: 'One money movement (with the platform’s trade or refund number).',
    example: {
      id: 'e1a2b3c4-0000-4000-8000-000000000007',
      day: '2026-11-25',
      at: '2026-11-25T08:02:11.000Z',
      kind: 'charge',
      paymentId: '9b2d7c31-4e8f-4a0b-8f6e-1c2d3e4f5a6b',
      orderId: '3f6c1f0e-8d2a-4c57-9a51-2f1d0b7e9c44',
      amount: { value: 3800, currency: 'CNY' },
      subject: '体育包 Sports (1 month)',
      tradeNo: 'T202611250001',
    },
  });
const entriesPage = z.object({ items: z.array(financeEntry), nextCursor: z.string().nullable() });

const present = (t: DayTotals) => ({
  day: t.day,
  charges: { count: t.charges.count, amount: { value: t.charges.fen, currency: 'CNY' as const } },
  // Money returned is shown as a positive sum.
  refunds: { count: t.refunds.count, amount: { value: -t.refunds.fen, currency: 'CNY' as const } },
  flagged: { count: t.flagged.count, amount: { value: t.flagged.fen, currency: 'CNY' as const } },
  flaggedRefunds: { count: t.flaggedRefunds.count, amount: { value: -t.flaggedRefunds.fen, currency: 'CNY' as const } },
  net: { value: t.netFen, currency: 'CNY' as const },
});

export const financeRoutes: FastifyPluginAsyncZod<{ reads: ReadView }> = async (app, { reads }) => {
  app.get(
    '/v1/finance/days',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'getFinanceDays',
        tags: ['finance'],
        summary: 'Money per accounting day: charges, refunds, flagged for review, net (fen)',
        description: 'Accounting days are China Standard Time (UTC+8); at most 93 days at once.',
        querystring: inDayRange(z.strictObject({ from: day, to: day })),
        response: { 200: z.object({ from: z.string(), to: z.string(), days: z.array(dayOut), total: dayOut }) },
      },
    },
    async (req) => {
      const { from, to } = req.query;
      const byDay = new Map<string, DayTotals>();
      // Counted, never compared: a string comparison of days is a loop bound only while both are days.
      for (let i = 0, d = from; i <= daysBetween(from, to); i++, d = nextDay(d)) byDay.set(d, emptyDay(d));
      const entries = everyDoc(reads, FINANCE_ENTRIES, {
        range: { field: 'day', gte: from, lt: nextDay(to) },
        orderBy: { field: 'day', direction: 'asc' },
        limit: 1000,
      });
      for await (const e of entries) {
        const t = byDay.get(String(e.day));
        if (t) add(t, e);
      }
      const days = [...byDay.values()];
      const sum = (a: Tally, b: Tally): Tally => ({ count: a.count + b.count, fen: a.fen + b.fen });
      const total = days.reduce<DayTotals>(
        (acc, t) => ({
          day: `${from}..${to}`,
          charges: sum(acc.charges, t.charges),
          refunds: sum(acc.refunds, t.refunds),
          flagged: sum(acc.flagged, t.flagged),
          flaggedRefunds: sum(acc.flaggedRefunds, t.flaggedRefunds),
          netFen: acc.netFen + t.netFen,
        }),
        emptyDay(`${from}..${to}`),
      );
      return { from, to, days: days.map(present), total: present(total) };
    },
  );

  app.get(
    '/v1/finance/entries',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'listFinanceEntries',
        tags: ['finance'],
        summary: 'The money movements of one accounting day, in order',
        description: 'Cursor pagination; a cursor from another query is 400 `bad-cursor`.',
        querystring: z.strictObject({
          day,
          kind: z.enum(FINANCE_KINDS).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().min(1).max(512).optional(),
        }),
        response: { 200: entriesPage },
      },
    },
    async (req) => {
      const { day: d, kind, limit, cursor } = req.query;
      const where: Record<string, Scalar> = { day: d };
      if (kind) where.kind = kind;
      try {
        return entriesPage.parse(await reads.find(FINANCE_ENTRIES, { where, orderBy: { field: 'at', direction: 'asc' }, limit, ...(cursor && { cursor }) }));
      } catch (err) {
        if (err instanceof InvalidQuery)
          throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
        throw err;
      }
    },
  );

  const journalLine = z.object({ account: z.enum(ACCOUNT_IDS), debit: z.number().int(), credit: z.number().int() });
  const journalEntry = z.object({
    id: z.string(),
    day: z.string(),
    at: z.string(),
    kind: z.string(),
    orderId: z.string(),
    paymentId: z.string(),
    eventId: z.string(),
    lines: z.array(journalLine),
  });

  /** Every stored entry matching the query, page by page (the read store's cursor). */
  const journalEntries = (q: { from?: string; to: string; where: Record<string, Scalar> }, pageSize = 1000): AsyncGenerator<Doc> =>
    everyDoc(reads, JOURNAL_ENTRIES, {
      where: q.where,
      range: { field: 'day', ...(q.from && { gte: q.from }), lt: nextDay(q.to) },
      orderBy: { field: 'day', direction: 'asc' },
      limit: pageSize,
    });

  /** A stored entry as the API shows it (a malformed one is a read-model bug: it throws). */
  const entryOf = (d: Doc): z.infer<typeof journalEntry> => journalEntry.parse(d);

  const CSV_HEADER = 'entry_id,day,at,kind,order_id,payment_id,event_id,account_code,account,debit_fen,credit_fen';
  const MAX_CSV_ENTRIES = 100_000;

  app.get(
    '/v1/finance/journal',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'getJournal',
        tags: ['finance'],
        summary: 'The double-entry journal: entries by accounting day, with filters; format=csv for one line per debit or credit',
        description: 'JSON pages by default; `format=csv` answers text/csv, one line per debit or credit, at most 100 000 entries.',
        querystring: inDayRange(
          z.strictObject({
            from: day,
            to: day,
            kind: z.enum(ENTRY_KINDS).optional(),
            account: z.enum(ACCOUNT_IDS).optional(),
            orderId: z.string().min(1).max(64).optional(),
            paymentId: z.string().min(1).max(64).optional(),
            format: z.enum(['json', 'csv']).default('json'),
            limit: z.coerce.number().int().min(1).max(1000).default(200),
            cursor: z.string().min(1).max(512).optional(),
          }),
        ),
        response: {
          200: z.union([z.object({ items: z.array(journalEntry), nextCursor: z.string().nullable() }), z.string().describe('text/csv (format=csv)')]),
        },
      },
    },
    async (req, reply) => {
      const { from, to, kind, account, orderId, paymentId, format, limit, cursor } = req.query;
      const where: Record<string, Scalar> = {};
      if (kind) where.kind = kind;
      if (orderId) where.orderId = orderId;
      if (paymentId) where.paymentId = paymentId;
      const touches = (d: Doc): boolean => !account || entryOf(d).lines.some((l) => l.account === account);
      if (format === 'csv') {
        const rows = [CSV_HEADER];
        let n = 0;
        for await (const d of journalEntries({ from, to, where })) {
          if (!touches(d)) continue;
          if (++n > MAX_CSV_ENTRIES)
            throw new HttpProblem(400, 'too-many-entries', 'Invalid request', `more than ${MAX_CSV_ENTRIES} entries: ask for fewer days`);
          const e = entryOf(d);
          for (const l of e.lines) {
            if (account && l.account !== account) continue;
            rows.push([e.id, e.day, e.at, e.kind, e.orderId, e.paymentId, e.eventId, ACCOUNTS[l.account].code, l.account, l.debit, l.credit].join(','));
          }
        }
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="journal-${from}-${to}.csv"`)
          .send(`${rows.join('\n')}\n`);
      }
      try {
        const page = await reads.find(JOURNAL_ENTRIES, {
          where,
          range: { field: 'day', gte: from, lt: nextDay(to) },
          orderBy: { field: 'day', direction: 'asc' },
          limit,
          ...(cursor && { cursor }),
        });
        return { items: page.items.filter(touches).map(entryOf), nextCursor: page.nextCursor };
      } catch (err) {
        if (err instanceof InvalidQuery)
          throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
        throw err;
      }
    },
  );

  const side = z.object({ debit: z.number().int(), credit: z.number().int() });
  app.get(
    '/v1/finance/trial-balance',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'getTrialBalance',
        tags: ['finance'],
        summary: "Trial balance at the end of an accounting day: every account, debits = credits to the fen; and the day's own movements",
        description: 'Balances at the end of `day` (UTC+8) and that day’s own movements; `balanced` is true when debits equal credits in both.',
        querystring: z.strictObject({ day }),
        response: {
          200: z.object({
            day: z.string(),
            accounts: z.array(z.object({ account: z.enum(ACCOUNT_IDS), code: z.string(), name: z.string(), type: z.string(), balance: side, movements: side })),
            totals: z.object({ balance: side, movements: side }),
            balanced: z.boolean(),
          }),
        },
      },
    },
    async (req) => {
      const d = req.query.day;
      const all: { lines: JournalLine[] }[] = [];
      const today: { lines: JournalLine[] }[] = [];
      for await (const doc of journalEntries({ to: d, where: {} })) {
        const e = { lines: entryOf(doc).lines };
        all.push(e);
        if (doc.day === d) today.push(e);
      }
      const closing = balancesOf(all);
      const moves = (a: Account) => {
        const m = { debit: 0, credit: 0 };
        for (const l of today.flatMap((e) => e.lines)) {
          if (l.account !== a) continue;
          m.debit += l.debit;
          m.credit += l.credit;
        }
        return m;
      };
      const accounts = ACCOUNT_IDS.map((a) => ({
        account: a,
        ...ACCOUNTS[a],
        // A trial balance shows each balance on its own side.
        balance: { debit: Math.max(0, closing[a]), credit: Math.max(0, -closing[a]) },
        movements: moves(a),
      }));
      const sum = (f: (x: (typeof accounts)[number]) => { debit: number; credit: number }) =>
        accounts.reduce((acc, x) => ({ debit: acc.debit + f(x).debit, credit: acc.credit + f(x).credit }), { debit: 0, credit: 0 });
      const totals = { balance: sum((x) => x.balance), movements: sum((x) => x.movements) };
      return { day: d, accounts, totals, balanced: totals.balance.debit === totals.balance.credit && totals.movements.debit === totals.movements.credit };
    },
  );
};

/** The finance ledger for auditors (admin): daily totals and the entries behind them, in fen. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FINANCE_ENTRIES } from '../../projections/finance.ts';
import { InvalidQuery, type Doc, type ReadStore, type Scalar } from '../../stores/read-store.ts';
import { HttpProblem } from '../problem.ts';
import { money, problem } from '../schemas.ts';

const day = z.iso.date().describe('accounting day, China Standard Time (UTC+8)');
const MAX_DAYS = 93;
const refusals = { 400: problem, 401: problem, 403: problem };

const nextDay = (d: string): string => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
const daysBetween = (from: string, to: string): number => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

type Tally = { count: number; fen: number };
type DayTotals = { day: string; charges: Tally; refunds: Tally; flagged: Tally; netFen: number };

const emptyDay = (d: string): DayTotals => ({ day: d, charges: { count: 0, fen: 0 }, refunds: { count: 0, fen: 0 }, flagged: { count: 0, fen: 0 }, netFen: 0 });

const fenOf = (entry: Doc): number => {
  const a = entry.amount;
  return typeof a === 'object' && a !== null && 'value' in a && typeof a.value === 'number' ? a.value : 0;
};

/** Counts an entry into its day: charges and refunds make the net; flagged money is kept apart. */
const add = (t: DayTotals, entry: Doc): void => {
  const fen = fenOf(entry);
  const into = entry.kind === 'charge' ? t.charges : entry.kind === 'refund' ? t.refunds : entry.kind === 'flagged' ? t.flagged : undefined;
  if (!into) return;
  into.count += 1;
  into.fen += fen;
  if (into !== t.flagged) t.netFen += fen;
};

const tally = z.object({ count: z.number().int(), amount: money });
/** The net may be negative (a day with more refunds than charges). */
const signedMoney = z.object({ value: z.number().int(), currency: z.literal('CNY') });
const dayOut = z.object({ day: z.string(), charges: tally, refunds: tally, flagged: tally, net: signedMoney });

const present = (t: DayTotals) => ({
  day: t.day,
  charges: { count: t.charges.count, amount: { value: t.charges.fen, currency: 'CNY' as const } },
  // Refunds are shown as a positive sum of money returned.
  refunds: { count: t.refunds.count, amount: { value: -t.refunds.fen, currency: 'CNY' as const } },
  flagged: { count: t.flagged.count, amount: { value: t.flagged.fen, currency: 'CNY' as const } },
  net: { value: t.netFen, currency: 'CNY' as const },
});

export const financeRoutes = (reads: ReadStore): FastifyPluginAsync => async (base) => {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/finance/days',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['finance'],
        summary: 'Money per accounting day: charges, refunds, flagged for review, net (fen)',
        querystring: z
          .strictObject({ from: day, to: day })
          .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
          .refine((q) => daysBetween(q.from, q.to) < MAX_DAYS, { message: `at most ${MAX_DAYS} days at once`, path: ['to'] }),
        response: { 200: z.object({ from: z.string(), to: z.string(), days: z.array(dayOut), total: dayOut }), ...refusals },
      },
    },
    async (req) => {
      const { from, to } = req.query;
      const byDay = new Map<string, DayTotals>();
      for (let d = from; d <= to; d = nextDay(d)) byDay.set(d, emptyDay(d));
      let cursor: string | undefined;
      do {
        const page = await reads.find(FINANCE_ENTRIES, {
          range: { field: 'day', gte: from, lt: nextDay(to) },
          orderBy: { field: 'day', direction: 'asc' },
          limit: 1000,
          ...(cursor && { cursor }),
        });
        for (const e of page.items) {
          const t = byDay.get(String(e.day));
          if (t) add(t, e);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const days = [...byDay.values()];
      const total = days.reduce<DayTotals>(
        (acc, t) => ({
          day: `${from}..${to}`,
          charges: { count: acc.charges.count + t.charges.count, fen: acc.charges.fen + t.charges.fen },
          refunds: { count: acc.refunds.count + t.refunds.count, fen: acc.refunds.fen + t.refunds.fen },
          flagged: { count: acc.flagged.count + t.flagged.count, fen: acc.flagged.fen + t.flagged.fen },
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
        tags: ['finance'],
        summary: 'The money movements of one accounting day, in order',
        querystring: z.strictObject({
          day,
          kind: z.enum(['charge', 'refund', 'flagged']).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().min(1).max(512).optional(),
        }),
        response: { 200: z.object({ items: z.array(z.record(z.string(), z.unknown())), nextCursor: z.string().nullable() }), ...refusals },
      },
    },
    async (req) => {
      const { day: d, kind, limit, cursor } = req.query;
      const where: Record<string, Scalar> = { day: d };
      if (kind) where.kind = kind;
      try {
        return await reads.find(FINANCE_ENTRIES, { where, orderBy: { field: 'at', direction: 'asc' }, limit, ...(cursor && { cursor }) });
      } catch (err) {
        if (err instanceof InvalidQuery) throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
        throw err;
      }
    },
  );
};

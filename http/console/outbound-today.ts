/**
 * Stopgap until `GET /v1/outbound?kind=&status=` is on main: the console lists outbound work
 * (SMS, trade, query, BOSS, refund, callback, expiry) from the tasks read model, in the shape
 * the console reads. When the real endpoint lands, the console's client switches one line
 * (OUTBOUND in http/console/assets/api.js) and this file and its route go.
 *
 * Never returns a message's text: a code SMS carries the one-time code.
 */
import { TASKS, TASK_KINDS } from '../../projections/tasks.ts';
import { InvalidQuery, type ReadStore, type Scalar } from '../../stores/read-store.ts';
import { HttpProblem } from '../problem.ts';

export const OUTBOUND_STATUSES = ['pending', 'done', 'failed'] as const;
export { TASK_KINDS as OUTBOUND_KINDS };

export type OutboundFilter = {
  kind?: (typeof TASK_KINDS)[number];
  status?: (typeof OUTBOUND_STATUSES)[number];
  orderId?: string;
  limit: number;
  cursor?: string;
};

export type OutboundItem = {
  taskId: string;
  kind: string;
  orderId: string | null;
  paymentId: string | null;
  status: string;
  /** boss: the request number (0 first, then reprovisions); sms `code`: the code's sequence number. */
  requestNo: number;
  /** sms: which message (`code`, `order-tv`, `paid-phone`, …), never its text. */
  template: string | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  finishedAt: string | null;
  outcome: string | null;
};

export type OutboundPage = { items: OutboundItem[]; nextCursor: string | null };
export type OutboundQuery = (filter: OutboundFilter) => Promise<OutboundPage>;

const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const count = (v: unknown): number => (typeof v === 'number' ? v : 0);

export const outboundFromTasks =
  (reads: ReadStore): OutboundQuery =>
  async ({ kind, status, orderId, limit, cursor }) => {
    const where: Record<string, Scalar> = {};
    if (kind) where.kind = kind;
    if (status) where.status = status;
    if (orderId) where.orderId = orderId;
    const page = await reads.find(TASKS, { where, orderBy: { field: 'createdAt', direction: 'desc' }, limit, ...(cursor && { cursor }) }).catch((err: unknown) => {
      if (err instanceof InvalidQuery) throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
      throw err;
    });
    return {
      items: page.items.map((t) => ({
        taskId: t.id,
        kind: String(t.kind),
        orderId: text(t.orderId),
        paymentId: text(t.paymentId),
        status: String(t.status),
        requestNo: count(t.seq),
        template: text(t.template),
        attempts: count(t.attempts),
        lastError: text(t.lastError),
        nextAttemptAt: t.status === 'pending' ? text(t.dueAt) : null,
        createdAt: String(t.createdAt),
        finishedAt: text(t.finishedAt),
        outcome: text(t.outcome),
      })),
      nextCursor: page.nextCursor,
    };
  };

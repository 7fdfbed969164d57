/**
 * The outbound backlog for the metrics (tvpay_task_backlog*): tasks still to run and tasks given up,
 * per kind, with the oldest next try of those still to run.
 *
 * Invariant: nothing read here grows with history. The tasks still to run are bounded by the work in
 * flight, so they are read whole; the given-up ones are never cleaned up, so they are not read at all:
 * the queue counts them per kind (outbound/queue.ts, `outbound_counts`). Done tasks are not backlog.
 */
import { z } from 'zod';
import { everyDoc } from '../stores/read-store.ts';
import type { ReadView } from '../projections/projection.ts';
import { OUTBOUND_TASKS, failedTasks } from './queue.ts';
import { TASK_KINDS, type TaskStatus } from './task.ts';

/** What the gauges read of a pending task's document (outbound/queue.ts writes it); a malformed one throws. */
const backlogRow = z.object({ kind: z.enum(TASK_KINDS), nextTryAt: z.string().optional() });

type Row = { kind: string; status: string; count: number; oldestDueAt: Date | null };

export const BACKLOG_KINDS: readonly string[] = TASK_KINDS;
export const BACKLOG_STATUSES = ['pending', 'failed'] as const satisfies readonly TaskStatus[];

const PAGE = 1000;

export const readTaskBacklog = (reads: ReadView) => async (): Promise<Row[]> => [...(await pendingRows(reads)), ...(await failedRows(reads))];

/** The pending tasks per kind, page by page, with the oldest next try of each kind. */
const pendingRows = async (reads: ReadView): Promise<Row[]> => {
  const byKind = new Map<string, Row>();
  for await (const doc of everyDoc(reads, OUTBOUND_TASKS, { where: { status: 'pending' }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: PAGE })) {
    const { kind, nextTryAt } = backlogRow.parse(doc);
    const due = nextTryAt !== undefined ? new Date(nextTryAt) : null;
    const row = byKind.get(kind) ?? { kind, status: 'pending', count: 0, oldestDueAt: null };
    row.count++;
    if (due && (!row.oldestDueAt || due < row.oldestDueAt)) row.oldestDueAt = due;
    byKind.set(kind, row);
  }
  return [...byKind.values()];
};

/** The given-up tasks per kind, as the queue counts them: one document per kind. A given-up task is never due. */
const failedRows = async (reads: ReadView): Promise<Row[]> => {
  const counts = await Promise.all(TASK_KINDS.map(async (kind) => ({ kind, count: await failedTasks(reads, kind) })));
  return counts.filter((c) => c.count > 0).map(({ kind, count }) => ({ kind, status: 'failed', count, oldestDueAt: null }));
};

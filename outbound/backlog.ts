/**
 * The outbound backlog for the metrics (tvpay_task_backlog*): tasks still to run and tasks given up,
 * counted per kind from the queue, with the oldest next try of those still to run. Done tasks are
 * not backlog and are not read (they grow with every order).
 */
import { z } from 'zod';
import type { ReadView } from '../projections/projection.ts';
import { OUTBOUND_TASKS } from './queue.ts';
import { TASK_KINDS, type TaskStatus } from './task.ts';

/** What the gauges read of a queued task's document (outbound/queue.ts writes it); a malformed one throws. */
const backlogRow = z.object({ kind: z.enum(TASK_KINDS), nextTryAt: z.string().optional() });

type Row = { kind: string; status: string; count: number; oldestDueAt: Date | null };

export const BACKLOG_KINDS: readonly string[] = TASK_KINDS;
export const BACKLOG_STATUSES = ['pending', 'failed'] as const satisfies readonly TaskStatus[];

const PAGE = 1000;

export const readTaskBacklog = (reads: ReadView) => async (): Promise<Row[]> => {
  const rows: Row[] = [];
  for (const status of BACKLOG_STATUSES) {
    const byKind = new Map<string, Row>();
    let cursor: string | null = null;
    do {
      const page = await reads.find(OUTBOUND_TASKS, {
        where: { status },
        orderBy: { field: 'createdAt', direction: 'asc' },
        limit: PAGE,
        ...(cursor && { cursor }),
      });
      for (const doc of page.items) {
        const { kind, nextTryAt } = backlogRow.parse(doc);
        const due = status === 'pending' && nextTryAt !== undefined ? new Date(nextTryAt) : null;
        const row = byKind.get(kind) ?? { kind, status, count: 0, oldestDueAt: null };
        row.count++;
        if (due && (!row.oldestDueAt || due < row.oldestDueAt)) row.oldestDueAt = due;
        byKind.set(kind, row);
      }
      cursor = page.nextCursor;
    } while (cursor);
    rows.push(...byKind.values());
  }
  return rows;
};

/**
 * The outbound backlog for the metrics (tvpay_task_backlog*): tasks still to run and tasks given up,
 * counted per kind from the tasks read model, with the oldest due time of those still to run.
 * Done tasks are not backlog and are not read (they grow with every order).
 */
import type { ReadView } from './runner.ts';
import { TASKS, TASK_KINDS, type TaskStatus } from './tasks.ts';

type Row = { kind: string; status: string; count: number; oldestDueAt: Date | null };

export const BACKLOG_KINDS: readonly string[] = TASK_KINDS;
export const BACKLOG_STATUSES = ['pending', 'failed'] as const satisfies readonly TaskStatus[];

const PAGE = 1000;

export const readTaskBacklog =
  (reads: ReadView) =>
  async (): Promise<Row[]> => {
    const rows: Row[] = [];
    for (const status of BACKLOG_STATUSES) {
      const byKind = new Map<string, Row>();
      let cursor: string | null = null;
      do {
        // Oldest due first: the first task of a kind seen is its oldest.
        const page = await reads.find(TASKS, { where: { status }, orderBy: { field: 'dueAt', direction: 'asc' }, limit: PAGE, ...(cursor && { cursor }) });
        for (const doc of page.items) {
          const kind = typeof doc.kind === 'string' ? doc.kind : 'other';
          const row = byKind.get(kind);
          if (row) row.count++;
          else byKind.set(kind, { kind, status, count: 1, oldestDueAt: status === 'pending' && typeof doc.dueAt === 'string' ? new Date(doc.dueAt) : null });
        }
        cursor = page.nextCursor;
      } while (cursor);
      rows.push(...byKind.values());
    }
    return rows;
  };

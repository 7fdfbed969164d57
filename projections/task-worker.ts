/**
 * Runs due tasks (tasks.ts) and records each attempt on the task's stream with the
 * expected revision = attempts so far, so two workers can never record the same
 * attempt twice. After a round it waits for the tasks read model to catch up with
 * what it recorded, so it never picks a task by a stale attempt count.
 * One active worker across processes: it holds the `task-worker` lease.
 */
import type { Logger } from 'pino';
import { pauser } from './pause.ts';
import { uuidFrom } from '../commands/ids.ts';
import { SCHEMA_VERSION } from '../commands/execute.ts';
import { OutboundError } from '../integrations/ports.ts';
import { backoffDelay } from '../integrations/retry.ts';
import { WrongExpectedRevision, comparePositions, type Position } from '../stores/event-store.ts';
import type { Lease } from '../stores/read-store.ts';
import { num, oneOf, str } from './doc.ts';
import { TASK_ACTOR, perform, provisioningRefused, tradeRefused, type ActionDeps, type ActionResult } from './task-actions.ts';
import { SMS_TEMPLATES, TASK_KINDS, TASKS, taskStream, type Task, type TaskEvent, type TaskKind } from './tasks.ts';
import type { ConsumerState, RunningProjection } from './runner.ts';
import type { Doc } from '../stores/read-store.ts';

export type OutboundOutcome = 'ok' | 'retryable' | 'final' | 'error';

export type TaskWorkerDeps = ActionDeps & {
  tasks: RunningProjection;
  owner: string;
  logger: Logger;
  retryBaseMs: number;
  retryMaxAttempts: number;
  paymentQueryAfterSeconds: number;
  onOutcome?: (kind: TaskKind, outcome: OutboundOutcome) => void;
  /** How often an idle worker looks for due tasks. */
  pollMs?: number;
  leaseTtlMs?: number;
};

export type TaskWorker = { state(): ConsumerState; stop(): Promise<void> };

const CONCURRENCY = 8;
const PAGE = 32;

const taskOf = (doc: Doc): Task => {
  const sentFrom = doc.sent && typeof doc.sent === 'object' ? (doc.sent as Record<string, unknown>) : undefined;
  return {
    id: doc.id,
    kind: oneOf(doc, 'kind', TASK_KINDS),
    status: 'pending',
    orderId: str(doc, 'orderId'),
    paymentId: str(doc, 'paymentId'),
    dueAt: str(doc, 'dueAt'),
    createdAt: str(doc, 'createdAt'),
    attempts: num(doc, 'attempts'),
    seq: num(doc, 'seq'),
    ...(doc.template !== undefined && { template: oneOf(doc, 'template', SMS_TEMPLATES) }),
    ...(doc.group !== undefined && { group: str(doc, 'group') }),
    correlationId: str(doc, 'correlationId'),
    causationId: str(doc, 'causationId'),
    ...(sentFrom && typeof sentFrom.validFrom === 'string' && typeof sentFrom.validUntil === 'string'
      ? { sent: { validFrom: sentFrom.validFrom, validUntil: sentFrom.validUntil } }
      : {}),
  };
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 300);

export const startTaskWorker = (deps: TaskWorkerDeps): TaskWorker => {
  const log = deps.logger.child({ component: 'task-worker' });
  const pollMs = deps.pollMs ?? 100;
  const ttl = deps.leaseTtlMs ?? 15_000;
  let stopping = false;
  let lease: Lease | null = null;
  let failing = false;
  /** Backoff and idle waits, cut short when stopping. */
  const { pause, wake } = pauser();

  const record = async (task: Task, event: TaskEvent): Promise<Position | null> => {
    const expected = task.attempts === 0 ? 'no_stream' : task.attempts - 1;
    try {
      const r = await deps.ledger.store.append(
        taskStream(task.id),
        [
          {
            id: uuidFrom('task-event', task.id, String(task.attempts)),
            type: event.type,
            data: { ...event.data },
            metadata: { correlationId: task.correlationId, causationId: task.causationId, actor: TASK_ACTOR, schemaVersion: SCHEMA_VERSION },
          },
        ],
        expected,
      );
      return r.position;
    } catch (err) {
      if (err instanceof WrongExpectedRevision) return null; // another worker recorded this attempt
      throw err;
    }
  };

  /** What follows a final failure, beyond marking the task failed. */
  const onGivingUp = async (task: Task, reason: string, final: boolean): Promise<void> => {
    if (task.kind === 'boss' && final) await provisioningRefused(deps, task, reason);
    if (task.kind === 'trade') await tradeRefused(deps, task, reason);
  };

  const settle = async (task: Task, result: ActionResult): Promise<Position | null> => {
    const attempt = task.attempts + 1;
    const now = deps.ledger.now();
    switch (result.kind) {
      case 'done':
        deps.onOutcome?.(task.kind, 'ok');
        return record(task, { type: 'TaskCompleted', data: { taskId: task.id, attempt, outcome: result.outcome } });
      case 'later': {
        deps.onOutcome?.(task.kind, 'ok');
        if (attempt >= deps.retryMaxAttempts) {
          return record(task, { type: 'TaskAbandoned', data: { taskId: task.id, attempt, error: `gave up: ${result.reason}` } });
        }
        const retryAt = new Date(now.getTime() + deps.paymentQueryAfterSeconds * 1000).toISOString();
        return record(task, { type: 'TaskAttemptFailed', data: { taskId: task.id, attempt, error: result.reason, retryAt } });
      }
      case 'failed': {
        const error = messageOf(result.error);
        const final = result.error instanceof OutboundError && result.error.kind === 'final';
        deps.onOutcome?.(task.kind, result.error instanceof OutboundError ? result.error.kind : 'error');
        if (!(result.error instanceof OutboundError)) log.error({ err: result.error, taskId: task.id }, 'task failed');
        if (final || attempt >= deps.retryMaxAttempts) {
          log.warn({ taskId: task.id, attempt, error }, final ? 'task refused for good' : 'task gave up after %d attempts', attempt);
          await onGivingUp(task, error, final);
          return record(task, { type: 'TaskAbandoned', data: { taskId: task.id, attempt, error } });
        }
        const retryAt = new Date(now.getTime() + backoffDelay(attempt, deps.retryBaseMs)).toISOString();
        log.info({ taskId: task.id, attempt, retryAt, error }, 'task will be retried');
        return record(task, {
          type: 'TaskAttemptFailed',
          data: { taskId: task.id, attempt, error, retryAt, ...(result.sent && { sent: result.sent }) },
        });
      }
      default: {
        const never: never = result;
        return never;
      }
    }
  };

  /** BOSS requests of one entitlement run one at a time, oldest first (see Task.group). */
  const runnable = async (due: Task[]): Promise<Task[]> => {
    const out: Task[] = [];
    const taken = new Set<string>();
    for (const t of due) {
      if (t.kind !== 'boss' || t.group === undefined) {
        out.push(t);
        continue;
      }
      if (taken.has(t.group)) continue;
      const oldest = await deps.reads.find(TASKS, {
        where: { group: t.group, status: 'pending' },
        orderBy: { field: 'createdAt', direction: 'asc' },
        limit: 1,
      });
      if (oldest.items[0]?.id !== t.id) continue; // an older request of this entitlement goes first
      taken.add(t.group);
      out.push(t);
    }
    return out;
  };

  const runRound = async (): Promise<number> => {
    const now = deps.ledger.now();
    const page = await deps.reads.find(TASKS, {
      where: { status: 'pending' },
      range: { field: 'dueAt', lt: new Date(now.getTime() + 1).toISOString() },
      orderBy: { field: 'dueAt', direction: 'asc' },
      limit: PAGE,
    });
    const tasks = await runnable(page.items.map(taskOf));
    let last: Position | null = null;
    for (let i = 0; i < tasks.length; i += CONCURRENCY) {
      const positions = await Promise.all(tasks.slice(i, i + CONCURRENCY).map(async (t) => settle(t, await perform(deps, t))));
      for (const p of positions) if (p && (!last || comparePositions(p, last) > 0)) last = p;
      if (stopping) break;
    }
    await deps.tasks.waitFor(last);
    return tasks.length;
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        lease = await deps.reads.acquireLease('task-worker', deps.owner, ttl, deps.ledger.now());
        if (!lease) {
          await pause(ttl / 3);
          continue;
        }
        const ran = await runRound();
        failing = false;
        if (ran === 0) await pause(pollMs);
      } catch (err) {
        failing = true;
        log.error({ err }, 'task round failed');
        await pause(1000);
      }
    }
    if (lease) await deps.reads.releaseLease(lease).catch(() => undefined);
  };

  const finished = loop();
  return {
    state: () => (stopping ? 'stopped' : failing ? 'failing' : lease ? 'active' : 'standby'),
    stop: async () => {
      stopping = true;
      wake();
      await finished;
    },
  };
};

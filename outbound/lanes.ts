/**
 * Lanes: one per partner (and one for our own timers), each with its own queues, concurrency,
 * timeout and circuit breaker, so a slow or dead partner never delays another. Within a lane, queues
 * are served in priority order: the code SMS before any other message, trades before refunds before
 * queries.
 */
import { assertNever } from '../domain/never.ts';
import type { TaskKind, TaskSpec } from './task.ts';

export const LANES = ['sms', 'platform', 'boss', 'callback', 'timer'] as const;
export type Lane = (typeof LANES)[number];

export const QUEUES = ['sms-code', 'sms', 'trade', 'refund', 'query', 'boss', 'callback', 'timer'] as const;
export type Queue = (typeof QUEUES)[number];

/** Each lane's queues, most urgent first. */
export const QUEUES_OF: Record<Lane, readonly Queue[]> = {
  sms: ['sms-code', 'sms'],
  platform: ['trade', 'refund', 'query'],
  boss: ['boss'],
  callback: ['callback'],
  timer: ['timer'],
};

export const queueOf = (task: Pick<TaskSpec, 'kind' | 'template'>): Queue => {
  const kind: TaskKind = task.kind;
  switch (kind) {
    case 'sms':
      return task.template === 'code' ? 'sms-code' : 'sms';
    case 'trade':
    case 'refund':
    case 'query':
    case 'boss':
    case 'callback':
      return kind;
    case 'expire':
      return 'timer';
    default:
      return assertNever(kind);
  }
};

export const laneOf = (queue: Queue): Lane => {
  for (const lane of LANES) if (QUEUES_OF[lane].includes(queue)) return lane;
  throw new Error(`queue ${queue} belongs to no lane`);
};

/** How a lane calls its partner. */
export type LaneLimits = {
  /** Calls in flight at once. */
  concurrency: number;
  /** One call's timeout; a claim holds a little longer. */
  timeoutMs: number;
};

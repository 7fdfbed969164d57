/** The trail as an auditor reads it: the causal tree, one event a line, with who, when, and what the partners answered. */
import type { OrderTrail, Trail, TrailEvent, TrailNode } from './collect.ts';

/** The few fields that say what an event means; the rest is in --json. */
const KEY_FIELDS = [
  'status',
  'amount',
  'reported',
  'tradeNo',
  'source',
  'notificationId',
  'paidAt',
  'reason',
  'detail',
  'refundNo',
  'requestNo',
  'bossRef',
  'validFrom',
  'validUntil',
  'wrongAttempts',
  'codeSeq',
  'attempt',
  'outcome',
  'error',
  'retryAt',
];

const show = (v: unknown): string => {
  if (typeof v === 'object' && v !== null && 'value' in v && 'currency' in v) return `${String(v.value)} fen`;
  return typeof v === 'string' ? v : JSON.stringify(v);
};

const facts = (e: TrailEvent): string =>
  KEY_FIELDS.filter((k) => e.data[k] !== undefined && e.data[k] !== '')
    .map((k) => `${k}=${show(e.data[k])}`)
    .join(' ');

/** When it happened by our clock (the event's own time), else when it was recorded. */
const timeOf = (e: TrailEvent): string => {
  const t = e.data.at ?? e.data.placedAt ?? e.data.requestedAt ?? e.data.paidAt;
  return typeof t === 'string' ? t : e.recordedAt;
};

const line = (e: TrailEvent): string =>
  `${e.type} ${e.streamId}@${e.revision} at ${timeOf(e)} by ${e.actor} [id ${e.id.slice(0, 8)} cause ${e.causationId.slice(0, 8)} corr ${e.correlationId.slice(0, 8)}]${facts(e) ? ` ${facts(e)}` : ''}`;

const attempt = (e: TrailEvent): string => `${e.type} ${facts(e)} (recorded ${e.recordedAt})`;

const render = (node: TrailNode, prefix: string, last: boolean, out: string[]): void => {
  out.push(`${prefix}${last ? '└─ ' : '├─ '}${line(node.event)}`);
  const inner = `${prefix}${last ? '   ' : '│  '}`;
  const children: ({ kind: 'task'; task: TrailNode['tasks'][number] } | { kind: 'node'; node: TrailNode })[] = [
    ...node.tasks.map((task) => ({ kind: 'task' as const, task })),
    ...node.caused.map((n) => ({ kind: 'node' as const, node: n })),
  ];
  for (const [i, c] of children.entries()) {
    const lastChild = i === children.length - 1;
    if (c.kind === 'node') {
      render(c.node, inner, lastChild, out);
      continue;
    }
    out.push(`${inner}${lastChild ? '└─ ' : '├─ '}task ${c.task.taskId}`);
    const taskPrefix = `${inner}${lastChild ? '   ' : '│  '}`;
    for (const [j, a] of c.task.attempts.entries()) out.push(`${taskPrefix}${j === c.task.attempts.length - 1 ? '└─ ' : '├─ '}${attempt(a)}`);
  }
};

const orderText = (o: OrderTrail): string[] => {
  const out = [`order ${o.orderId} (payment ${o.paymentId}, card ${o.smartcardId}, phone ${o.msisdn}): ${o.events} events`];
  for (const root of o.roots) {
    out.push(`  caused by ${root.causationId}`);
    for (const [i, n] of root.nodes.entries()) render(n, '  ', i === root.nodes.length - 1, out);
  }
  return out;
};

export const formatTrail = (t: Trail): string =>
  [...(t.orders.length === 0 ? ['no order matches'] : t.orders.flatMap((o, i) => [...(i > 0 ? [''] : []), ...orderText(o)])), ''].join('\n');

/**
 * The shape of the log, whatever the events say: every stream's revisions run 0, 1, 2… in log
 * order with no gap; every event id is used once; a cause comes before its effect (an event whose
 * causationId is the id of an event later in the log was recorded before what caused it); every
 * event of a known stream has a type its aggregate knows.
 *
 * A causationId that is no event's id is a request's id (an HTTP call, a timer): not checked here.
 */
import { readOrderEvent } from '../../domain/order/order.ts';
import { readPaymentEvent } from '../../domain/payment/payment.ts';
import { SEALS_STREAM } from '../../commands/seal-log.ts';
import { readSubscriberEvent } from '../../domain/subscriber/subscriber.ts';
import { readTaskEvent } from '../../outbound/task.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { describeRef, refOf, type EventRef, type Finding } from './finding.ts';

/** The stream families of the ledger, and whether an event type belongs to one. */
const KNOWN: readonly { prefix: string; knows: (e: RecordedEvent) => boolean }[] = [
  { prefix: 'order-', knows: (e) => readOrderEvent(e) !== undefined },
  { prefix: 'payment-', knows: (e) => readPaymentEvent(e) !== undefined },
  { prefix: 'task-', knows: (e) => readTaskEvent(e) !== undefined },
  { prefix: 'subscriber-', knows: (e) => readSubscriberEvent(e) !== undefined },
  { prefix: SEALS_STREAM, knows: (e) => e.type === 'LedgerSealed' },
];

export type StructureChecker = { see(e: RecordedEvent, ordinal: number): void; findings: Finding[]; streams(): number };

export const structureChecker = (): StructureChecker => {
  const findings: Finding[] = [];
  const nextRevision = new Map<string, number>();
  const seen = new Set<string>();
  /** causationIds not (yet) seen as event ids, with the events they caused. */
  const awaited = new Map<string, EventRef[]>();

  return {
    findings,
    streams: () => nextRevision.size,
    see: (e, ordinal) => {
      const ref = refOf(e, ordinal);
      const expected = nextRevision.get(e.streamId) ?? 0;
      if (e.revision !== expected) {
        findings.push({
          check: 'revision',
          rule: e.revision > expected ? 'revision-gap' : 'revision-out-of-order',
          message: `${describeRef(ref)}: the stream's next revision is ${expected}${e.revision > expected ? ` (revisions ${expected}…${e.revision - 1} are missing)` : ''}`,
          event: ref,
        });
      }
      nextRevision.set(e.streamId, Math.max(expected, e.revision + 1));

      if (seen.has(e.id))
        findings.push({ check: 'revision', rule: 'duplicate-event-id', message: `${describeRef(ref)}: another event has the same id`, event: ref });
      seen.add(e.id);
      for (const effect of awaited.get(e.id) ?? []) {
        findings.push({
          check: 'causation',
          rule: 'effect-before-cause',
          message: `${describeRef(effect)} was caused by ${describeRef(ref)}, which comes after it in the log`,
          event: effect,
        });
      }
      awaited.delete(e.id);
      const cause = e.metadata.causationId;
      if (cause === e.id) {
        findings.push({ check: 'causation', rule: 'caused-by-itself', message: `${describeRef(ref)} names itself as its cause`, event: ref });
      } else if (!seen.has(cause)) {
        const list = awaited.get(cause);
        if (list) list.push(ref);
        else awaited.set(cause, [ref]);
      }

      const family = KNOWN.find((k) => e.streamId.startsWith(k.prefix));
      if (family && !family.knows(e)) {
        findings.push({ check: 'schema', rule: 'unknown-event-type', message: `${describeRef(ref)}: no aggregate knows the event type ${e.type}`, event: ref });
      }
    },
  };
};

/** What the audit reports: findings that name the event they are about, and how to group them. */
import { positionToString, type RecordedEvent } from '../../stores/event-store.ts';

/** Where an event is: enough for an operator to find it in either store. */
export type EventRef = {
  streamId: string;
  revision: number;
  eventId: string;
  type: string;
  /** 1-based place in the global log as read now. */
  ordinal: number;
  /** The store's own position (opaque). */
  position: string;
};

export const CHECKS = ['seal', 'revision', 'causation', 'decide', 'money', 'journal', 'schema'] as const;
export type Check = (typeof CHECKS)[number];

export type Finding = {
  check: Check;
  /** Stable, kebab-case: what rule was broken. */
  rule: string;
  message: string;
  /** The offending event, when one can be named. */
  event?: EventRef;
};

export const refOf = (e: RecordedEvent, ordinal: number): EventRef => ({
  streamId: e.streamId,
  revision: e.revision,
  eventId: e.id,
  type: e.type,
  ordinal,
  position: positionToString(e.position),
});

export const describeRef = (r: EventRef): string => `${r.streamId}@${r.revision} ${r.type} (#${r.ordinal} in the log, id ${r.eventId})`;

/**
 * The first finding of each stream, in log order, with how many more that stream has. An anomaly
 * early in a stream tends to make every later event look wrong too: the first one is the one to read.
 */
export const firstPerStream = (findings: readonly Finding[]): { finding: Finding; more: number }[] => {
  const byStream = new Map<string, { finding: Finding; more: number }>();
  const loose: { finding: Finding; more: number }[] = [];
  for (const f of findings) {
    if (!f.event) {
      loose.push({ finding: f, more: 0 });
      continue;
    }
    const seen = byStream.get(f.event.streamId);
    if (!seen) byStream.set(f.event.streamId, { finding: f, more: 0 });
    else if (f.event.ordinal < (seen.finding.event?.ordinal ?? Infinity)) byStream.set(f.event.streamId, { finding: f, more: seen.more + 1 });
    else seen.more += 1;
  }
  return [...loose, ...[...byStream.values()].sort((a, b) => (a.finding.event?.ordinal ?? 0) - (b.finding.event?.ordinal ?? 0))];
};

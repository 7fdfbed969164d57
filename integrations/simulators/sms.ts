/**
 * The SMS gateway simulator's core: implements SmsGateway in-process and backs the HTTP simulator.
 * Invariant: a messageId is stored once; repeats only raise its `duplicates` count. Messages are kept
 * in memory for tests and demos (the only place a one-time code may be read back); never logged here.
 */
import type { SmsGateway, SmsMessage, SmsRecipient } from '../ports.ts';
import { createFaultState, defaultCommonFaults, type CommonFaults } from './faults.ts';

export type SmsFaults = CommonFaults;

export type SmsSimulatorOptions = {
  faults?: Partial<SmsFaults>;
  now?: () => Date;
  /** Called once per new messageId, e.g. by a demo that shows the phone's screen. */
  onMessage?: (message: StoredSms) => void;
};

export type StoredSms = SmsMessage & { receivedAt: string; duplicates: number };

export type SmsInspection = { messages: StoredSms[]; calls: number; duplicates: number; inFlight: Record<string, number> };

export type SmsSimulator = SmsGateway & {
  /** Messages in arrival order, optionally only those to one phone or one card (msisdn with or without +86). */
  messages(filter?: { msisdn?: string; smartcardId?: string }): StoredSms[];
  inspect(filter?: { msisdn?: string; smartcardId?: string }): SmsInspection;
  /**
   * Resolves as soon as at least one message matches (at once when one already does), or after `waitMs`
   * with none: a client (the flow bench, a demo) learns of a message without polling.
   */
  arrival(filter: { msisdn?: string; smartcardId?: string }, waitMs: number): Promise<void>;
  faults(): SmsFaults;
  setFaults(patch: unknown): SmsFaults;
  close(): void;
};

const normalizeMsisdn = (m: string) => m.replace(/^\+86/, '');

/** The keys a recipient is found by: its phone (without +86) or its card. */
const keysOf = (to: Partial<Record<'msisdn' | 'smartcardId', string>>): string[] => [
  ...(to.msisdn !== undefined ? [`msisdn:${normalizeMsisdn(to.msisdn)}`] : []),
  ...(to.smartcardId !== undefined ? [`card:${to.smartcardId}`] : []),
];

const matches = (to: SmsRecipient, filter: { msisdn?: string; smartcardId?: string }) =>
  (filter.msisdn === undefined || ('msisdn' in to && normalizeMsisdn(to.msisdn) === normalizeMsisdn(filter.msisdn))) &&
  (filter.smartcardId === undefined || ('smartcardId' in to && to.smartcardId === filter.smartcardId));

export function createSmsSimulator(o: SmsSimulatorOptions = {}): SmsSimulator {
  const now = o.now ?? (() => new Date());
  const shutdown = new AbortController();
  const faults = createFaultState('sms', { ...defaultCommonFaults, ...o.faults }, shutdown.signal);
  const stored = new Map<string, StoredSms>();
  /** The same messages by recipient, in arrival order: a lookup reads one recipient's, not every message kept. */
  const byRecipient = new Map<string, StoredSms[]>();
  let calls = 0;
  let duplicates = 0;
  /** Clients waiting for a first message matching their filter (arrival). */
  const waiting = new Set<{ filter: { msisdn?: string; smartcardId?: string }; done(): void }>();

  /** The messages that may match `filter`: one recipient's when it names one, else all. */
  const candidates = (filter: { msisdn?: string; smartcardId?: string }): Iterable<StoredSms> => {
    const [key] = keysOf(filter);
    return key === undefined ? stored.values() : (byRecipient.get(key) ?? []);
  };
  const messages = (filter: { msisdn?: string; smartcardId?: string } = {}) =>
    [...candidates(filter)].filter((m) => matches(m.to, filter)).map((m) => structuredClone(m));

  return {
    async send(message) {
      calls++;
      await faults.run('POST /messages', () => {
        const existing = stored.get(message.messageId);
        if (existing) {
          existing.duplicates++;
          duplicates++;
          return;
        }
        const m: StoredSms = {
          messageId: message.messageId,
          to: { ...message.to },
          templateId: message.templateId,
          signName: message.signName,
          params: { ...message.params },
          text: message.text,
          receivedAt: now().toISOString(),
          duplicates: 0,
        };
        stored.set(m.messageId, m);
        for (const key of keysOf(m.to)) {
          const list = byRecipient.get(key);
          if (list) list.push(m);
          else byRecipient.set(key, [m]);
        }
        o.onMessage?.(structuredClone(m));
        for (const w of waiting) if (matches(m.to, w.filter)) w.done();
      });
    },
    messages,
    arrival: (filter, waitMs) =>
      new Promise<void>((resolve) => {
        if (shutdown.signal.aborted || [...candidates(filter)].some((m) => matches(m.to, filter))) return resolve();
        const w = {
          filter,
          done: () => {
            clearTimeout(timer);
            waiting.delete(w);
            resolve();
          },
        };
        const timer = setTimeout(w.done, waitMs);
        waiting.add(w);
      }),
    inspect: (filter) => ({ messages: messages(filter), calls, duplicates, inFlight: faults.inFlight() }),
    faults: () => faults.get(),
    setFaults: (patch) => faults.set(patch),
    close: () => {
      shutdown.abort();
      for (const w of waiting) w.done();
    },
  };
}

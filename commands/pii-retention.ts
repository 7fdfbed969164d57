/**
 * Retention (PII_RETENTION_DAYS): once a day, every subscriber with no order activity for that many
 * days is erased, as if an admin had asked (commands/erase-subscriber.ts), with reason `retention`.
 * Who is quiet comes from the subscribers read model's index (projections/subscribers.ts), never from
 * reading history. A subscriber with an order still in flight is left for the next run.
 *
 * Every process with the setting runs it; erasure is idempotent, so two runs at once only repeat work.
 */
import type { Logger } from 'pino';
import { SubscriberHasOrdersInFlight } from '../domain/errors.ts';
import type { Actor } from '../stores/event-store.ts';
import type { Erasure } from './erase-subscriber.ts';

export const RETENTION_ACTOR: Actor = { role: 'system', client: 'pii-retention' };
const DAY_MS = 24 * 3600_000;
const PAGE = 200;

export type RetentionDeps = {
  days: number;
  now: () => Date;
  /** A page of subscribers who hold a number and were last active before `cutoff` (from a caught-up read model). */
  quiet: (cutoff: Date, limit: number, cursor?: string) => Promise<{ subscriberIds: string[]; nextCursor: string | null }>;
  erase: (subscriberId: string) => Promise<Erasure>;
  logger: Logger;
};

export type RetentionRun = { cutoff: string; erased: string[]; leftInFlight: string[] };

/** One run: erases everyone quiet since before now − days (or until `stopping` says so). */
export const runRetention = async (deps: RetentionDeps, stopping: () => boolean = () => false): Promise<RetentionRun> => {
  const cutoff = new Date(deps.now().getTime() - deps.days * DAY_MS);
  const run: RetentionRun = { cutoff: cutoff.toISOString(), erased: [], leftInFlight: [] };
  let cursor: string | undefined;
  do {
    const page = await deps.quiet(cutoff, PAGE, cursor);
    for (const subscriberId of page.subscriberIds) {
      if (stopping()) return run;
      try {
        await deps.erase(subscriberId);
        run.erased.push(subscriberId);
      } catch (err) {
        if (!(err instanceof SubscriberHasOrdersInFlight)) throw err;
        run.leftInFlight.push(subscriberId);
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  deps.logger.info(
    { cutoff: run.cutoff, erased: run.erased.length, leftInFlight: run.leftInFlight.length },
    'pii retention: %d subscriber(s) erased',
    run.erased.length,
  );
  return run;
};

export type RetentionTask = {
  /** Finishes the erasure in hand, and runs no more. */
  stop(): Promise<void>;
};

const RETRY_MS = 15 * 60_000;

/** Runs at once, then every 24 hours; a failed run is logged and tried again in 15 minutes. */
export const startRetention = (deps: RetentionDeps): RetentionTask => {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    current = runRetention(deps, () => stopped)
      .then(
        () => DAY_MS,
        (err: unknown) => {
          deps.logger.error({ err }, 'pii retention run failed; trying again in 15 minutes');
          return RETRY_MS;
        },
      )
      .then((next) => {
        if (!stopped) timer = setTimeout(tick, next).unref();
      });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
};

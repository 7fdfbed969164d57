/**
 * Which consumers a process runs (CONSUMERS). A consumer is a projection or reactor (by its name:
 * orders, outbound, process, …) or one of the background tasks below. By default a process runs
 * them all; several processes on one store then hold one lease each per consumer, first come.
 * Naming them lets an operator split the work deterministically, e.g. a process that serves HTTP
 * with every read model and another that runs what acts: the `process` reactor, the outbound
 * worker, the seal and retention (README, "Splitting the work over processes").
 *
 * Warnings:
 * - nothing checks that some process runs each consumer: one that no process runs falls behind
 *   for good (its lag is exported only where it runs: the alert TvpayConsumerNotRunning counts the series);
 * - the same consumer in several processes is safe: its lease keeps one active, the others standby.
 */
import { ConfigError, type ConsumerChoice } from './config.ts';

/** The background tasks a process may run besides the projections and reactors. */
export const BACKGROUND_TASKS = {
  /** The outbound task worker: SMS, trades, queries, BOSS requests, refunds, callbacks, expiry timers. */
  worker: true,
  /** The daily seal of the log (commands/seal-log.ts). */
  seal: true,
  /** The retention erasures (PII_RETENTION_DAYS). */
  retention: true,
} as const;

/**
 * Whether this process runs a consumer, for the choice in CONSUMERS and the projections and
 * reactors the service has. A name that is neither is a configuration error (exit 78).
 */
export const consumersHere = (choice: ConsumerChoice, projections: readonly string[]): ((name: string) => boolean) => {
  const known = [...projections, ...Object.keys(BACKGROUND_TASKS)];
  if (choice === 'all') return () => true;
  const unknown = choice.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new ConfigError(`CONSUMERS: unknown ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known: ${known.join(', ')}`);
  const chosen = new Set(choice);
  return (name) => chosen.has(name);
};

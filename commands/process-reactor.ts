/**
 * The process reactor: runs every event's follow-up (the workflow, commands/workflow.ts) once more,
 * after the fact, as a checkpointed consumer of the log (projections/runner.ts), so a crash between a
 * command and its follow-up never leaves the two aggregates apart. Follow-ups are idempotent; a
 * refusal the workflow did not declare is logged as an anomaly for review and does not stop the reactor.
 */
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.ts';
import type { Projection } from '../projections/projection.ts';
import type { LedgerDeps } from './deps.ts';
import { followUp } from './follow-up.ts';

export const processReactor = (ledger: LedgerDeps, logger: Logger): Projection => ({
  name: 'process',
  collections: [],
  handle: async (event) => {
    try {
      await followUp(ledger, event);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      logger.warn({ eventId: event.id, type: event.type, streamId: event.streamId, code: err.code }, 'follow-up refused: %s', err.message);
    }
    return [];
  },
});

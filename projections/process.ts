/**
 * The process reactor: runs every event's follow-up (commands/follow-up.ts) once more,
 * after the fact, so a crash between a command and its follow-up never leaves the two
 * aggregates apart. Follow-ups are idempotent; a business refusal here is logged as an
 * anomaly for review and does not stop the reactor.
 */
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import { followUp } from '../commands/follow-up.ts';
import { DomainError } from '../domain/errors.ts';
import type { Projection } from './runner.ts';

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

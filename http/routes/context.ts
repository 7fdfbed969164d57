import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../../commands/execute.ts';

const CORRELATION = /^[A-Za-z0-9._:-]{1,128}$/;

/** Who is asking and why, for the events this request writes. */
export const contextOf = (req: FastifyRequest): Omit<CommandContext, 'commandKey'> => {
  const given = req.headers['x-correlation-id'];
  return {
    correlationId: typeof given === 'string' && CORRELATION.test(given) ? given : req.id,
    causationId: req.id,
    actor: req.actor,
  };
};

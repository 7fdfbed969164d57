import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../../commands/execute.ts';
import type { Actor } from '../../stores/event-store.ts';
import { actorOf } from '../auth.ts';

const CORRELATION = /^[A-Za-z0-9._:-]{1,128}$/;

/** Who is asking and why, for the events this request writes (the actor: the authenticated caller, unless given). */
export const contextOf = (req: FastifyRequest, actor: Actor = actorOf(req)): Omit<CommandContext, 'commandKey'> => {
  const given = req.headers['x-correlation-id'];
  return {
    correlationId: typeof given === 'string' && CORRELATION.test(given) ? given : req.id,
    causationId: req.id,
    actor,
  };
};

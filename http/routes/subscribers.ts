/** Erasure of a subscriber's phone number (PIPL), by an admin: docs/privacy.md. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SubscriberFactsBehind, type Erasure } from '../../commands/erase-subscriber.ts';
import type { CommandContext } from '../../commands/execute.ts';
import { HttpProblem } from '../problem.ts';
import { instant, refusals, subscriberParams } from '../schemas.ts';
import { contextOf } from './context.ts';

export type SubscriberRoutes = {
  /** Erases the subscriber's number (crypto-shredding); refuses while an order is in flight. */
  erase: (subscriberId: string, ctx: Omit<CommandContext, 'commandKey'>) => Promise<Erasure>;
};

const erasure = z
  .object({
    subscriberId: z.string(),
    status: z.literal('erased'),
    reason: z.enum(['request', 'retention']).describe('who erased first: an admin, or the retention task'),
    erasedAt: instant,
    keysDestroyed: z.number().int().describe('data keys destroyed by this request (0: already erased)'),
    plainNumbersInLog: z.boolean().describe('events written before sealing still hold the number in plain text until `npm run migrate -- --encrypt-pii`'),
  })
  .meta({
    id: 'Erasure',
    example: {
      subscriberId: 'sub-1001',
      status: 'erased',
      reason: 'request',
      erasedAt: '2026-11-25T09:00:00.000Z',
      keysDestroyed: 1,
      plainNumbersInLog: false,
    },
  });

export const subscriberRoutes: FastifyPluginAsyncZod<SubscriberRoutes> = async (app, { erase }) => {
  app.post(
    '/v1/subscribers/:subscriberId/erasure',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'eraseSubscriber',
        tags: ['subscribers'],
        summary: "Erase the subscriber's phone number everywhere (crypto-shredding); 409 while an order is in flight",
        description:
          'Idempotent: erasing again answers the first erasure with keysDestroyed 0. 404 for a subscriber with no orders; 503 with `Retry-After` while their latest orders are still being read.',
        params: subscriberParams,
        response: { 200: erasure, ...refusals(404, 409, 503) },
      },
    },
    async (req) => {
      let done: Erasure;
      try {
        done = await erase(req.params.subscriberId, contextOf(req));
      } catch (err) {
        if (err instanceof SubscriberFactsBehind) {
          throw new HttpProblem(503, 'not-yet-visible', 'Not yet visible', "the subscriber's latest orders are still being read; retry", {
            'retry-after': '1',
          });
        }
        throw err;
      }
      req.log.info({ subscriberId: done.subscriberId, keysDestroyed: done.keysDestroyed, plainNumbersInLog: done.plainNumbersInLog }, 'subscriber erased');
      return done;
    },
  );
};

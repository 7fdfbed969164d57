/**
 * Development only: the in-process SMS simulator's outbox, so a developer trying the
 * flow with curl can read the one-time code "on the phone". Registered only outside
 * production and only while SMS is simulated; admin token required.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export type DevOutbox = (filter: { msisdn?: string; smartcardId?: string }) => { to: Record<string, string>; text: string; messageId: string }[];

export const devRoutes: FastifyPluginAsyncZod<{ outbox: DevOutbox }> = async (app, { outbox }) => {
  app.get(
    '/v1/dev/sms',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'listDevSms',
        tags: ['development'],
        summary: 'Messages the simulated SMS gateway received (development only)',
        description: 'Only outside production and while SMS is simulated: read the one-time code "on the phone" when trying the flow with curl.',
        querystring: z.strictObject({ msisdn: z.string().max(20).optional(), smartcardId: z.string().max(64).optional() }),
        response: {
          200: z.object({ messages: z.array(z.object({ messageId: z.string(), to: z.record(z.string(), z.string()), text: z.string() })) }),
        },
      },
    },
    async (req) => ({
      messages: outbox({
        ...(req.query.msisdn && {
          msisdn: req.query.msisdn.startsWith('+') || req.query.msisdn.startsWith('86') ? req.query.msisdn : `+86${req.query.msisdn}`,
        }),
        ...(req.query.smartcardId && { smartcardId: req.query.smartcardId }),
      }),
    }),
  );
};

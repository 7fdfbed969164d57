/**
 * The customer-service console at /console: static pages (plain ES modules served as they are,
 * no build step) that call the public API with the agent's own token, which the page keeps in
 * sessionStorage only. Besides the pages, one small read the console needs: GET /console/api/session,
 * who the token belongs to and which API routes its role may call, taken from the routes' own role
 * lists, so the console offers exactly what the API allows. Outbound work comes from GET /v1/outbound.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../auth.ts';
import { pageHeaders } from './page-headers.ts';

export type ConsoleOptions = {
  /** The API routes (`GET /v1/orders/:orderId`) a role may call. */
  routesFor: (role: string) => readonly string[];
};

const CONSOLE_ROLES = ['customer-service', 'admin'] as const;

export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (base, { routesFor }) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  pageHeaders(base);

  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('./assets/', import.meta.url)),
    prefix: '/console/',
    decorateReply: false,
    // The pages change with the service; the browser asks again each time (304 when unchanged).
    cacheControl: false,
    etag: true,
  });

  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));

  app.get(
    '/console/api/session',
    {
      config: { roles: CONSOLE_ROLES },
      schema: {
        operationId: 'getConsoleSession',
        tags: ['console'],
        summary: 'The signed-in agent: role, name, and the API routes the role may call',
        description: 'The routes come from the routes’ own role lists, so the console offers exactly what the API allows.',
        response: {
          200: z.object({ role: z.string(), name: z.string().nullable(), client: z.string(), routes: z.array(z.string()) }),
        },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      return { role: actor.role, name: actor.name ?? null, client: actor.client, routes: [...routesFor(actor.role)] };
    },
  );
};

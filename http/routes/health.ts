/** Liveness, readiness and the Prometheus scrape: public, for machines. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readiness } from '../schemas.ts';

export type Readiness = { ready: boolean; checks: Record<string, string> };

export type HealthRoutes = {
  /** Stores reachable and projections running. */
  ready: () => Promise<Readiness>;
  /** Prometheus text exposition. */
  metrics: () => Promise<string>;
};

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutes> = async (app, { ready, metrics }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getLiveness',
        tags: ['operations'],
        summary: 'Liveness',
        description: 'The process answers; says nothing about the stores (see /readyz).',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness: stores reachable, projections running',
        description: '503 with the same body while a store is unreachable or a projection or the task worker is not running; `checks` says which.',
        response: { 200: readiness.describe('ready'), 503: readiness.describe('not ready: `checks` says what is wrong') },
      },
    },
    async (_req, reply) => {
      const r = await ready();
      return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'The Prometheus text exposition format 0.0.4 (names start with tvpay_).',
        produces: ['text/plain'],
        response: { 200: z.string().describe('Prometheus text exposition') },
      },
    },
    async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await metrics()),
  );
};

import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.ts';

export type Health = {
  /** Stores reachable and projections running. */
  ready: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
};

export const healthRoutes = (deps: AppDeps): FastifyPluginAsync => async (app) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', security: [] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: stores reachable, projections running', security: [] } }, async (_req, reply) => {
    const r = await deps.health.ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', security: [] } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(deps.metrics ? await deps.metrics() : ''),
  );
};

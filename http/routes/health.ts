/** Liveness, readiness and the Prometheus scrape: public, for machines. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

export type Readiness = { ready: boolean; checks: Record<string, string> };

export type HealthRoutes = {
  /** Stores reachable and projections running. */
  ready: () => Promise<Readiness>;
  /** Prometheus text exposition. */
  metrics: () => Promise<string>;
};

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutes> = async (app, { ready, metrics }) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', security: [] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: stores reachable, projections running', security: [] } }, async (_req, reply) => {
    const r = await ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', security: [] } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(await metrics()),
  );
};

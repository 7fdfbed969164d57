/**
 * The fastify app: zod-validated routes, role tokens, problem+json errors, OpenAPI at /docs.
 * Built from its dependencies; http/compose.ts is the composition root that makes them.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { LedgerDeps } from '../commands/deps.ts';
import type { Actor } from '../stores/event-store.ts';
import { authenticate, type Role, type TokenTable } from './auth.ts';
import { forbidden, installProblemHandlers, unauthorized } from './problem.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { healthRoutes, type Health } from './routes/health.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { orderRoutes } from './routes/orders.ts';
import { paymentRoutes } from './routes/payments.ts';
import { queryRoutes, type Queries } from './routes/queries.ts';
import { devRoutes, type DevOutbox } from './routes/dev.ts';
import { financeRoutes } from './routes/finance.ts';
import { subscriberRoutes, type SubscriberRoutes } from './routes/subscribers.ts';
import type { HttpObserver } from './metrics.ts';
import { ProbesAtDebug } from './request-log.ts';
import { installRequestMetrics } from './request-metrics.ts';
import { consolePlugin } from './console/plugin.ts';
import { demoPlugin, type DemoOptions } from './demo/plugin.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on the route; a route without roles is public or authenticates itself. */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    actor: Actor;
  }
}

export type AppDeps = {
  ledger: LedgerDeps;
  tokens: TokenTable;
  /** Accepted notification signing secrets (rotation). */
  platformSecrets: readonly string[];
  logger: FastifyBaseLogger;
  health: Health;
  /** Read-model queries and operations; absent in the bare command API. */
  queries?: Queries;
  /** Development only: the simulated SMS outbox. */
  devOutbox?: DevOutbox;
  /** Prometheus text exposition. */
  metrics?: () => Promise<string>;
  /** Request and notification metrics. */
  observe?: HttpObserver;
  /** The demo pages /demo/tv and /demo/phone: only outside production, while every partner is simulated in-process. */
  demo?: DemoOptions;
  /** Erasure of a subscriber's phone number (admin). */
  subscribers?: SubscriberRoutes;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const buildApp = async (deps: AppDeps): Promise<FastifyInstance> => {
  const app = Fastify({
    loggerInstance: deps.logger,
    // A caller's request id is kept when it is sane, so logs join up across systems.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    logController: new ProbesAtDebug(),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  if (deps.observe) installRequestMetrics(app, deps.observe);
  app.decorateRequest('actor', { getter: () => ({ role: 'anonymous', client: 'anonymous' }) });

  // Which roles may call each route, as the routes declare it: the console shows an agent only what the API would allow.
  const routeRoles = new Map<string, readonly Role[]>();
  app.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (roles) for (const method of [route.method].flat()) routeRoles.set(`${method} ${route.url}`, roles);
  });
  const routesFor = (role: string): string[] => [...routeRoles].filter(([, roles]) => roles.some((r) => r === role)).map(([route]) => route);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const roles = req.routeOptions.config.roles;
    if (!roles) return;
    const auth = authenticate(deps.tokens, req.headers.authorization, roles);
    if (!auth.ok) throw auth.status === 401 ? unauthorized() : forbidden();
    Object.defineProperty(req, 'actor', { value: auth.actor });
    // Every later line about this request says who made it (the token's client id, and the agent's name if it has one).
    req.log = req.log.child({ actor: auth.actor });
    reply.log = req.log;
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'tvpay-ledger',
        version: '1.0.0',
        description: 'Digital-TV channel packages ordered on the set-top box and paid by mobile phone (CN104967874A).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes(deps));
  await app.register(catalogRoutes(deps));
  await app.register(orderRoutes(deps));
  await app.register(paymentRoutes(deps));
  await app.register(notificationRoutes(deps));
  if (deps.queries) {
    await app.register(queryRoutes(deps.queries));
    await app.register(financeRoutes(deps.queries.reads));
    await app.register(consolePlugin, { routesFor });
  }
  if (deps.subscribers) await app.register(subscriberRoutes, deps.subscribers);
  if (deps.devOutbox) await app.register(devRoutes(deps.devOutbox));
  if (deps.demo) await app.register(demoPlugin, deps.demo);
  return app;
};

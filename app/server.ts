/**
 * The HTTP server: fastify with zod, problem+json, authentication, OpenAPI at /docs, and every route
 * plugin registered with only what it needs. The one place that knows every route's dependencies.
 * No route holds a secret: one-time codes and phone numbers are capabilities (derive, check, seal,
 * reveal) whose keys stay inside them; what a route cannot see, it cannot leak.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { LedgerDeps } from '../commands/deps.ts';
import { authPlugin, routeRoles, type TokenTable } from '../http/auth.ts';
import { consolePlugin } from '../http/console/plugin.ts';
import { demoPlugin, type DemoOptions } from '../http/demo/plugin.ts';
import { limitsPlugin, type LimitsOptions } from '../http/limits.ts';
import { clientErrorHandler, frameworkErrors, installProblemHandlers } from '../http/problem.ts';
import { openApiOptions } from '../http/openapi.ts';
import { ProbesAtDebug } from '../http/request-log.ts';
import { installRequestMetrics, type HttpObserver } from '../http/request-metrics.ts';
import { catalogRoutes } from '../http/routes/catalog.ts';
import { devRoutes, type DevOutbox } from '../http/routes/dev.ts';
import { financeRoutes } from '../http/routes/finance.ts';
import { healthRoutes, type HealthRoutes } from '../http/routes/health.ts';
import { notificationRoutes } from '../http/routes/notifications.ts';
import { orderRoutes } from '../http/routes/orders.ts';
import { paymentRoutes } from '../http/routes/payments.ts';
import { queryRoutes, type Queries } from '../http/routes/queries.ts';
import { subscriberRoutes, type SubscriberRoutes } from '../http/routes/subscribers.ts';
import { packageVersion } from './project.ts';

export type ServerDeps = {
  ledger: LedgerDeps;
  tokens: TokenTable;
  /** Accepted notification signing secrets (rotation). */
  platformSecrets: readonly string[];
  logger: FastifyBaseLogger;
  health: HealthRoutes;
  /** Read-model queries; absent in the bare command API. */
  queries?: Queries;
  /** Development only: the simulated SMS outbox. */
  devOutbox?: DevOutbox;
  /** Request and notification metrics. */
  observe?: HttpObserver;
  /** The demo pages /demo/tv and /demo/phone: only outside production, while every partner is simulated in-process. */
  demo?: DemoOptions;
  /** Erasure of a subscriber's phone number (admin). */
  subscribers?: SubscriberRoutes;
  /** Abuse limits (requests per window, per key). */
  limits: Pick<LimitsOptions, 'windowSeconds' | 'max'>;
  /** TRUST_PROXY: the proxies whose X-Forwarded-For names the client (the address the limits count); none: the socket's. */
  trustProxy?: readonly string[];
  /** PUBLIC_BASE_URL: listed first among the OpenAPI document's servers. */
  publicBaseUrl?: string;
};

/** The OpenAPI `servers`: the public address when configured, and a local `npm start`. */
const serversOf = (publicBaseUrl: string | undefined) => [
  ...(publicBaseUrl ? [{ url: publicBaseUrl, description: 'this deployment (PUBLIC_BASE_URL)' }] : []),
  { url: 'http://127.0.0.1:3000', description: 'a local `npm start` with the default HOST and PORT' },
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const buildServer = async (deps: ServerDeps): Promise<FastifyInstance> => {
  const app = Fastify({
    loggerInstance: deps.logger,
    // A caller's request id is kept when it is sane, so logs join up across systems.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 64 * 1024,
    trustProxy: deps.trustProxy && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    return503OnClosing: true,
    logController: new ProbesAtDebug(),
    // The router's and the HTTP parser's refusals are problem+json too, and never echo the path.
    frameworkErrors,
    clientErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  if (deps.observe) installRequestMetrics(app, deps.observe);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // Once closing, every answer ends its connection. Idle connections are closed when the close
  // starts; one busy then would otherwise stay open for its keep-alive (72 s), and a client that keeps
  // its connections (the platform, a load balancer) would hold the shutdown past its deadline.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // Before authentication (failed attempts are counted before they are refused) and before any route.
  await app.register(limitsPlugin, { ...deps.limits, tokens: deps.tokens, ...(deps.observe && { onLimited: deps.observe.rateLimited }) });
  // Before any route, so every route's roles are known and enforced.
  const roles = routeRoles();
  await app.register(authPlugin, { tokens: deps.tokens, routeRoles: roles });

  await app.register(swagger, openApiOptions({ version: packageVersion(), servers: serversOf(deps.publicBaseUrl) }));
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const { ledger } = deps;
  await app.register(healthRoutes, deps.health);
  await app.register(catalogRoutes, { catalog: ledger.catalog });
  await app.register(orderRoutes, { ledger });
  await app.register(paymentRoutes, { ledger });
  await app.register(notificationRoutes, {
    ledger,
    platformSecrets: deps.platformSecrets,
    failedAuthentication: (req) => app.failedAuthentication(req),
    ...(deps.observe && { observe: deps.observe }),
  });
  if (deps.queries) {
    await app.register(queryRoutes, deps.queries);
    await app.register(financeRoutes, { reads: deps.queries.reads });
    await app.register(consolePlugin, { routesFor: roles.routesFor });
  }
  if (deps.subscribers) await app.register(subscriberRoutes, deps.subscribers);
  if (deps.devOutbox) await app.register(devRoutes, { outbox: deps.devOutbox });
  if (deps.demo) await app.register(demoPlugin, deps.demo);
  return app;
};

/**
 * Every HTTP request counted and timed by route pattern (`/v1/orders/:orderId`, never the raw URL,
 * so the series stay few), method and status class. Routes in the API document start at 0;
 * the docs UI's own files (hidden from the document) are measured but not listed in advance.
 */
import type { FastifyInstance } from 'fastify';
import type { VerifyFailure } from '../integrations/signature.ts';
import type { LimitName } from './limits.ts';

/** What the HTTP layer reports: routes, requests, refused notifications (the metrics implement it). */
export type HttpObserver = {
  /** A route the app serves: its series start at 0. */
  route(route: string, method: string): void;
  request(route: string, method: string, statusCode: number, seconds: number): void;
  notificationRejected(reason: VerifyFailure): void;
  /** A request refused by an abuse limit (429). */
  rateLimited(limit: LimitName): void;
};

/** The route label of a request no route matched (404s on unknown paths). */
export const UNMATCHED = 'unmatched';

/** Call before the routes are registered, so each one is seen. */
export const installRequestMetrics = (app: FastifyInstance, observe: HttpObserver): void => {
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide === true) return;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) if (method !== 'HEAD') observe.route(route.url, method);
  });
  app.addHook('onResponse', async (req, reply) => {
    observe.request(req.routeOptions.url ?? UNMATCHED, req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
};

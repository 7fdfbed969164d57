/**
 * Every route an app serves, as fastify registers it: listened for on fastify's own
 * 'fastify.initialization' channel, so nothing in the app has to expose its routes for the test.
 */
import { channel } from 'node:diagnostics_channel';
import type { FastifyInstance } from 'fastify';

export type RouteKey = `${string} ${string}`;

/** Runs `build` and returns what it built with the routes of every fastify instance created meanwhile (HEAD, added for each GET, left out). */
export const recordingRoutes = async <T>(build: () => Promise<T>): Promise<{ built: T; routes: RouteKey[] }> => {
  const routes = new Set<RouteKey>();
  const init = channel('fastify.initialization');
  const listen = (message: unknown): void => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') routes.add(`${method} ${route.url}`);
    });
  };
  init.subscribe(listen);
  try {
    const built = await build();
    return { built, routes: [...routes].sort() };
  } finally {
    init.unsubscribe(listen);
  }
};

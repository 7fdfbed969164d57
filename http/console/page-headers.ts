import type { FastifyInstance } from 'fastify';

/**
 * Headers for the browser pages (console and demo): scripts, styles and requests only from this
 * origin, never framed. The pages build their DOM with textContent, never from HTML strings.
 */
const HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/** Adds the page headers to every response of the plugin it is called in (encapsulated: not the API's). */
export const pageHeaders = (app: FastifyInstance): void => {
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(HEADERS);
  });
};

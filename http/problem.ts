/**
 * The one place where errors become HTTP: RFC 9457 problem+json. Routes throw
 * (domain errors, HttpProblem) and never build error bodies themselves.
 * 5xx bodies say nothing about the cause; the log has it (without secrets).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorKind } from '../domain/errors.ts';

export const PROBLEM_BASE = 'urn:tvpay-ledger:problem:';

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
};

/** An HTTP-level refusal that is not a domain rule: authentication, signatures, unknown routes. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    /** Members added to the problem (RFC 9457 extensions), e.g. the limit that was reached. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/** A body that failed validation outside fastify's own schema step (e.g. after a signature check). */
export class InvalidBody extends HttpProblem {
  constructor(readonly errors: { path: string; message: string }[]) {
    super(400, 'validation', 'Invalid request', `${errors.length} field(s) are invalid: ${errors.map((e) => e.path).join(', ')}`);
  }
}

export const unauthorized = (detail = 'a valid bearer token is required'): HttpProblem =>
  new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, { 'www-authenticate': 'Bearer' });
export const forbidden = (): HttpProblem => new HttpProblem(403, 'forbidden', 'Forbidden', 'this token’s role may not call this endpoint');

const STATUS_OF: Record<ErrorKind, number> = { not_found: 404, conflict: 409, unprocessable: 422, rate_limited: 429 };
const TITLE_OF: Record<ErrorKind, string> = {
  not_found: 'Not found',
  conflict: 'Conflict with the current state',
  unprocessable: 'Request cannot be processed',
  rate_limited: 'Too many requests',
};

const send = (reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply =>
  reply.code(problem.status).headers(headers).type('application/problem+json').send(problem);

const problemOf = (status: number, code: string, title: string, detail: string): Problem => ({
  type: PROBLEM_BASE + code,
  title,
  status,
  detail,
});

export const installProblemHandlers = (app: FastifyInstance): void => {
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'body';
      const pathOf = (instancePath: string, key?: string): string =>
        [where, ...instancePath.split('/').filter((p) => p.length > 0), ...(key === undefined ? [] : [key])].join('.');
      // An unknown field is named itself, not the object that holds it.
      const errors = err.validation.flatMap((v) =>
        v.keyword === 'unrecognized_keys' && Array.isArray(v.params.keys)
          ? v.params.keys.map((key) => ({ path: pathOf(v.instancePath, String(key)), message: 'unknown field' }))
          : [{ path: pathOf(v.instancePath), message: v.message ?? 'invalid' }],
      );
      req.log.info({ errors }, 'request refused: validation');
      return send(reply, {
        ...problemOf(400, 'validation', 'Invalid request', `${errors.length} field(s) are invalid: ${errors.map((e) => e.path).join(', ')}`),
        errors,
      });
    }
    if (err instanceof DomainError) {
      req.log.info({ code: err.code, ...err.details }, 'request refused: %s', err.code);
      const headers: Record<string, string> = {};
      if (typeof err.details.retryAfterSeconds === 'number') headers['retry-after'] = String(err.details.retryAfterSeconds);
      // Details first: the problem's own fields always win.
      return send(reply, { ...err.details, ...problemOf(STATUS_OF[err.kind], err.code, TITLE_OF[err.kind], err.message) }, headers);
    }
    if (err instanceof InvalidBody) {
      req.log.info({ errors: err.errors }, 'request refused: validation');
      return send(reply, { ...problemOf(400, err.code, err.title, err.message), errors: err.errors });
    }
    if (err instanceof HttpProblem) {
      req.log.info({ code: err.code }, 'request refused: %s', err.code);
      return send(reply, { ...err.extensions, ...problemOf(err.status, err.code, err.title, err.message) }, err.headers);
    }
    // Fastify's own client errors: malformed JSON, wrong content type, body too large…
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      req.log.info({ code: 'code' in err ? err.code : undefined }, 'request refused: %s', err.message);
      return send(reply, problemOf(status, CODE_OF_STATUS[status] ?? 'bad-request', STATUS_CODES[status] ?? 'Bad request', err.message));
    }
    req.log.error({ err }, 'request failed');
    return send(reply, problemOf(500, 'internal', 'Internal error', 'the request could not be completed; it is safe to retry'));
  });
  // Unknown routes: 405 with Allow when the path exists under other methods, else 404. Neither echoes the path.
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ pattern: patternOf(route.url), method });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allow = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    // A route that exists under this method and still found nothing (a static file that is not there) is a 404.
    if (allow.length > 0 && !allow.includes(req.method)) {
      req.log.info({ code: 'method-not-allowed' }, 'request refused: method-not-allowed');
      return send(reply, problemOf(405, 'method-not-allowed', 'Method not allowed', `this path does not take ${req.method}; it takes ${allow.join(', ')}`), {
        allow: allow.join(', '),
      });
    }
    return send(reply, problemOf(404, 'no-such-route', 'Not found', `no route matches ${req.method} and this path`));
  });
};

/** Fastify's own refusals as problem+json: the titles of their status, and our codes. */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'bad-request',
  404: 'no-such-route',
  405: 'method-not-allowed',
  408: 'request-timeout',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  431: 'headers-too-large',
};

/** A route's URL as fastify registers it (`/v1/orders/:orderId`, `/docs/*`) as a pattern over request paths. */
const patternOf = (url: string): RegExp =>
  new RegExp(
    `^${url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}/?$`,
  );

/**
 * The router's refusals before any route runs (a URL that does not decode, a parameter longer than
 * the router takes): problem+json without the path, which is the caller's own text.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, req, reply) => {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : err.code === 'FST_ERR_BAD_URL' ? 400 : (err.statusCode ?? 400);
  const detail =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a part of the path is longer than any identifier this API takes'
      : err.code === 'FST_ERR_BAD_URL'
        ? 'the path is not a valid URL (a % not followed by two hexadecimal digits, or bytes that are not UTF-8)'
        : 'the request cannot be routed';
  req.log.info({ code: err.code }, 'request refused: %s', err.code);
  void send(reply, problemOf(status, CODE_OF_STATUS[status] ?? 'bad-request', STATUS_CODES[status] ?? 'Bad request', detail));
};

/**
 * Requests the HTTP parser refuses before fastify sees them (headers too large, malformed request
 * lines): problem+json written to the socket, as fastify's default does with plain JSON.
 */
export const clientErrorHandler = (err: Error & { code?: string }, socket: Socket): void => {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'the request line and headers together are larger than the server takes'
      : status === 408
        ? 'the request did not arrive in time'
        : 'the request is not valid HTTP';
  const body = JSON.stringify(problemOf(status, CODE_OF_STATUS[status] ?? 'bad-request', STATUS_CODES[status] ?? 'Bad request', detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
};

/**
 * The one place where errors become HTTP: RFC 9457 problem+json. Routes throw
 * (domain errors, HttpProblem) and never build error bodies themselves.
 * 5xx bodies say nothing about the cause; the log has it (without secrets).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
      const errors = err.validation.map((v) => ({
        path: [where, ...v.instancePath.split('/').filter((p) => p.length > 0)].join('.'),
        message: v.message ?? 'invalid',
      }));
      req.log.info({ errors }, 'request refused: validation');
      return send(reply, { ...problemOf(400, 'validation', 'Invalid request', `${errors.length} field(s) are invalid: ${errors.map((e) => e.path).join(', ')}`), errors });
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
      return send(reply, problemOf(err.status, err.code, err.title, err.message), err.headers);
    }
    // Fastify's own client errors: malformed JSON, wrong content type, body too large…
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      req.log.info({ code: 'code' in err ? err.code : undefined }, 'request refused: %s', err.message);
      return send(reply, problemOf(status, 'bad-request', 'Bad request', err.message));
    }
    req.log.error({ err }, 'request failed');
    return send(reply, problemOf(500, 'internal', 'Internal error', 'the request could not be completed; it is safe to retry'));
  });
  app.setNotFoundHandler((req, reply) => send(reply, problemOf(404, 'no-such-route', 'Not found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`)));
};

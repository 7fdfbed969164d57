/**
 * Fastify's per-request log lines ("incoming request", "request completed"), with the probes at
 * debug: load balancers, orchestrators and Prometheus call them every few seconds, and at info
 * they would drown every other line. A failed probe request is still logged at error.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Routes called by machines on a timer. */
export const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const isProbe = (request: FastifyRequest): boolean => PROBE_ROUTES.has(request.routeOptions.url ?? '');

export class ProbesAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!isProbe(request)) return super.incomingRequest(request, reply, metadata);
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!isProbe(request) || error) return super.requestCompleted(error, request, reply, metadata);
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

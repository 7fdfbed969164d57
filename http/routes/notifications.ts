/**
 * Patent step 4: the payment platform's signed result. At least once, in any order,
 * maybe concurrently. The signature is checked over the raw body before anything is
 * parsed or recorded; a bad or stale signature records nothing.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { LedgerDeps } from '../../commands/deps.ts';
import { recordPlatformResult } from '../../commands/record-platform-result.ts';
import { PaymentNotFound } from '../../domain/errors.ts';
import { paymentStream } from '../../domain/payment/payment.ts';
import { SIGNATURE_HEADER, verify } from '../../integrations/signature.ts';
import type { HttpObserver } from '../request-metrics.ts';
import { HttpProblem, InvalidBody } from '../problem.ts';
import { z } from 'zod';
import { notificationBody, refusals } from '../schemas.ts';
import { contextOf } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

const PLATFORM_ACTOR = { role: 'payment-platform', client: 'payment-platform' };

export type NotificationRoutes = {
  ledger: LedgerDeps;
  /** Accepted signing secrets (rotation: all of them are tried). */
  platformSecrets: readonly string[];
  observe?: Pick<HttpObserver, 'notificationRejected'>;
  /** A bad signature is a failed authentication: counted per address, 429 past the limit (http/limits.ts). */
  failedAuthentication?: (req: FastifyRequest) => Promise<void>;
};

export const notificationRoutes: FastifyPluginAsync<NotificationRoutes> = async (app, { ledger, platformSecrets, observe, failedAuthentication }) => {
  // Scoped to this plugin: keep the raw text, which the signature covers. JSON only: any other type is
  // 415 before the signature is looked at (text/plain would reach the check without its raw text).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    req.rawBody = typeof body === 'string' ? body : body.toString('utf8');
    done(null, undefined);
  });

  app.post(
    '/v1/payment-notifications',
    {
      schema: {
        operationId: 'recordPaymentNotification',
        tags: ['payment platform'],
        summary: 'Payment result from the platform (patent step 4), signed with X-Platform-Signature',
        description:
          'At least once, in any order, maybe concurrently. The signature is checked over the raw body before anything is parsed: ' +
          'a bad or stale one (older than 300 s) is 401 and records nothing. A duplicate, or an amount that does not match ' +
          '(recorded for review, never provisions), is still 200 `success`. An unknown `outTradeNo` is 404.',
        headers: z.object({
          'x-platform-signature': z
            .string()
            .describe('`t=<unix seconds>,v1=<hex>`: HMAC-SHA256 with PAYMENT_PLATFORM_SECRET over `"<t>.<raw body>"`; several `v1=` during a secret rotation')
            .meta({ example: 't=1795852800,v1=5d41402abc4b2a76b9719d911017c592' }),
        }),
        body: notificationBody,
        produces: ['text/plain'],
        response: { 200: z.literal('success').describe('recorded (or already recorded)'), ...refusals(401, 404, 409) },
      },
      // The body is validated after the signature check, below.
      validatorCompiler: () => (value) => ({ value }),
    },
    async (req, reply) => {
      const raw = req.rawBody ?? '';
      const header = req.headers[SIGNATURE_HEADER];
      const check = verify(typeof header === 'string' ? header : undefined, raw, platformSecrets, ledger.now().getTime() / 1000);
      if (!check.ok) {
        observe?.notificationRejected(check.reason);
        req.log.warn({ reason: check.reason }, 'notification refused: signature %s', check.reason);
        await failedAuthentication?.(req);
        throw new HttpProblem(401, 'bad-signature', 'Unauthorized', `the X-Platform-Signature is ${check.reason}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new HttpProblem(400, 'bad-request', 'Bad request', 'the body is not JSON');
      }
      const parsed = notificationBody.safeParse(json);
      if (!parsed.success) {
        throw new InvalidBody(parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message })));
      }
      const n = parsed.data;
      if ((await ledger.store.readStream(paymentStream(n.outTradeNo), { limit: 1 })).length === 0) throw new PaymentNotFound(n.outTradeNo);
      await recordPlatformResult(
        ledger,
        {
          paymentId: n.outTradeNo,
          source: 'notification',
          notificationId: n.notificationId,
          tradeNo: n.tradeNo,
          status: n.status,
          amount: n.amount,
          ...(n.paidAt !== undefined && { paidAt: new Date(n.paidAt).toISOString() }),
          ...(n.failureReason !== undefined && { failureReason: n.failureReason }),
        },
        contextOf(req, PLATFORM_ACTOR),
      );
      req.log.info({ paymentId: n.outTradeNo, notificationId: n.notificationId, status: n.status }, 'notification recorded');
      return reply.code(200).type('text/plain').send('success');
    },
  );
};

/**
 * pino, with what must never be logged removed at the source: tokens, signatures,
 * one-time codes and whole phone numbers (masked wherever they appear in a URL).
 */
import pino, { type Logger } from 'pino';
import { maskMsisdn } from '../domain/msisdn.ts';

/**
 * A `code` field is either an error code (`wrong-code`, `ECONNREFUSED`, `FST_ERR_…`), which
 * operators need, or possibly a one-time code, which must never be logged. One-time codes are
 * digits only (commands/one-time-code.ts); an error code starts with a letter. Anything else
 * under a redacted path is censored.
 */
const ERROR_CODE = /^[A-Za-z][\w.:-]*$/;
const censor = (value: unknown, path: string[]): unknown =>
  path.at(-1) === 'code' && typeof value === 'string' && ERROR_CODE.test(value) ? value : '[redacted]';

const PHONE_IN_URL = /((?:\?|&)msisdn=)(%2B|\+)?(\d+)/gi;

export const maskUrl = (url: string): string => url.replace(PHONE_IN_URL, (_m, key: string, _plus, digits: string) => `${key}${maskMsisdn(digits)}`);

export const createLogger = (level: string, destination?: pino.DestinationStream): Logger =>
  pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-platform-signature"]',
          'headers.authorization',
          '*.code',
          'code',
          '*.secret',
          '*.token',
          'msisdn',
          '*.msisdn',
          'to.msisdn',
          '*.to.msisdn',
        ],
        censor,
      },
      serializers: {
        req: (req: { method: string; url: string; id: string; headers: Record<string, unknown> }) => ({
          id: req.id,
          method: req.method,
          url: maskUrl(req.url),
          userAgent: req.headers['user-agent'],
        }),
      },
    },
    destination,
  );

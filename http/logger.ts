/**
 * pino, with what must never be logged removed at the source: tokens, signatures,
 * one-time codes and whole phone numbers (masked wherever they appear in a URL).
 */
import pino, { type Logger } from 'pino';
import { maskMsisdn } from '../commands/msisdn.ts';

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
        censor: '[redacted]',
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

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

const decoded = (part: string): string | undefined => {
  try {
    return decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
};

/**
 * The URL with every `msisdn…` query parameter masked, judged as the server reads it (decoded): an
 * encoded number (`%31%33…`), `msisdn[]=` or a value that does not parse is masked too, never logged.
 */
export const maskUrl = (url: string): string => {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (!(decoded(key) ?? key).toLowerCase().startsWith('msisdn') || eq < 0) return pair;
      const digits = (decoded(pair.slice(eq + 1)) ?? '').replace(/\D/g, '');
      return `${key}=${digits.length >= 7 ? maskMsisdn(digits) : '****'}`;
    });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
};

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

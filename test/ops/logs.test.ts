/**
 * Logs an operator can use: error codes kept in refusal lines while one-time codes stay redacted,
 * and probes (health, readiness, scrapes) at debug so they do not drown everything else.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, maskUrl } from '../../http/logger.ts';
import { TOKENS } from '../support/fixtures.ts';
import { placeAndConfirm } from '../flow/support.ts';
import { confirmAfterAWrongCode, logCapture, loggedWhile, type LogLine as Line } from '../support/log-capture.ts';

describe('redaction', () => {
  it('a `code` that is an error code is kept; one that could be a one-time code is redacted, wherever it sits', () => {
    const out = logCapture();
    const log = createLogger('info', out);
    log.info({ code: 'wrong-code', attemptsLeft: 4 }, 'request refused: %s', 'wrong-code');
    log.info({ code: '123456' }, 'a one-time code at the top');
    log.info({ body: { code: '654321' } }, 'a one-time code in a body');
    log.info({ code: 123456 }, 'a number');
    log.error({ err: Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }) }, 'a network error');
    log.info({ to: { msisdn: '8613800138000' }, headers: { authorization: 'Bearer secret-token-1' } }, 'other redactions still apply');
    const [refusal, top, body, num, network, other] = out.lines();
    expect(refusal).toMatchObject({ code: 'wrong-code', attemptsLeft: 4, msg: 'request refused: wrong-code' });
    expect(top?.code).toBe('[redacted]');
    expect(body?.body).toEqual({ code: '[redacted]' });
    expect(num?.code).toBe('[redacted]');
    expect(network?.err).toMatchObject({ code: 'ECONNREFUSED', message: 'connect refused' });
    expect(other).toMatchObject({ to: { msisdn: '[redacted]' }, headers: { authorization: '[redacted]' } });
    expect(JSON.stringify(out.lines())).not.toMatch(/123456|654321|8613800138000|secret-token-1/);
  });

  it('in the service: a wrong code is refused with its error code in the log line, and neither code appears', async () => {
    let codes: string[] = [];
    const out = await loggedWhile('info', async (t) => {
      const placed = await t.placeOrder({}, 'log-1');
      codes = await confirmAfterAWrongCode(t, placed.json<{ paymentId: string }>().paymentId);
    });
    const refusal = out.lines().find((l) => l.msg === 'request refused: wrong-code');
    expect(refusal).toMatchObject({ level: 30, code: 'wrong-code' });
    const all = JSON.stringify(out.lines());
    for (const code of codes) expect(all).not.toContain(code);
  });
});

describe('phone numbers in URLs', () => {
  it('every msisdn query parameter is masked as the server reads it: encoded, bracketed or unparsable; other parameters are kept', () => {
    const cases: [string, string][] = [
      ['/v1/orders?msisdn=13800138000&limit=20', '/v1/orders?msisdn=138****8000&limit=20'],
      ['/v1/orders?limit=20&msisdn=%2B8613800138000', '/v1/orders?limit=20&msisdn=138****8000'],
      ['/v1/orders?msisdn=%31%33%38%30%30%31%33%38%30%30%30', '/v1/orders?msisdn=138****8000'],
      ['/v1/orders?msisdn=%313800138000', '/v1/orders?msisdn=138****8000'],
      ['/v1/orders?msisdn[]=13800138000', '/v1/orders?msisdn[]=138****8000'],
      ['/v1/orders?msisdn%5B%5D=13800138000', '/v1/orders?msisdn%5B%5D=138****8000'],
      ['/v1/orders?MSISDN=%2B86%2013800138000', '/v1/orders?MSISDN=138****8000'],
      ['/v1/orders?msisdn=%E0%A4%A', '/v1/orders?msisdn=****'],
      ['/v1/orders?msisdn=12', '/v1/orders?msisdn=****'],
      ['/v1/orders?smartcardId=8100000000000042', '/v1/orders?smartcardId=8100000000000042'],
      ['/v1/orders/13800138000', '/v1/orders/13800138000'],
    ];
    for (const [url, logged] of cases) expect(maskUrl(url), url).toBe(logged);
  });

  it('in the service: a search by an encoded number logs the request with the number masked', async () => {
    const out = await loggedWhile('info', async (t) => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/orders?msisdn=%31%33%38%30%30%31%33%38%30%30%30',
        headers: { authorization: `Bearer ${TOKENS.service}` },
      });
      expect(res.statusCode).toBe(200);
    });
    const urls = out.lines().flatMap((l) => (typeof (l.req as { url?: unknown } | undefined)?.url === 'string' ? [(l.req as { url: string }).url] : []));
    expect(urls).toContain('/v1/orders?msisdn=138****8000');
    expect(JSON.stringify(out.lines())).not.toMatch(/%31%33%38%30%30%31%33%38%30%30%30|13800138000/);
  });
});

describe('probes', () => {
  const probeAndOrder = async (level: string): Promise<Line[]> => {
    const out = await loggedWhile(
      level,
      async (t) => {
        await placeAndConfirm(t, `probe-${level}`);
        for (const url of ['/healthz', '/readyz', '/metrics']) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      },
      { process: true },
    );
    return out.lines();
  };
  const PROBE = /^\/(healthz|readyz|metrics)$/;
  const urlOf = (l: Line): string => String((l.req as { url?: string } | undefined)?.url ?? '');
  const requestLines = (lines: Line[]) => lines.filter((l) => ['incoming request', 'request completed'].includes(l.msg));

  it('at info: /healthz, /readyz and /metrics write no line; other requests still log theirs', async () => {
    const lines = await probeAndOrder('info');
    expect(lines.filter((l) => PROBE.test(urlOf(l)))).toEqual([]);
    expect(requestLines(lines).filter((l) => l.level === 30).length).toBeGreaterThanOrEqual(4); // the order and the confirm, in and out
  });

  it('at debug: each probe writes its two lines at debug, none at info', async () => {
    const lines = await probeAndOrder('debug');
    const incoming = lines.filter((l) => l.msg === 'incoming request' && PROBE.test(urlOf(l)));
    expect(incoming.map(urlOf).sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    const ids = new Set(incoming.map((l) => l.reqId));
    const probeLines = requestLines(lines).filter((l) => ids.has(l.reqId));
    expect(probeLines).toHaveLength(6);
    expect(probeLines.every((l) => l.level === 20)).toBe(true);
  });
});

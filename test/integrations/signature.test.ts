import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSignature, sign, verify } from '../../integrations/signature.ts';

const body = JSON.stringify({ notificationId: 'n1', outTradeNo: 'p1', status: 'SUCCESS', amount: { value: 3000, currency: 'CNY' } });
const now = 1_750_000_000;

describe('platform signature', () => {
  it('signs t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>") and verifies it', () => {
    const header = sign('s3cret', body, now + 0.9);
    const expected = createHmac('sha256', 's3cret').update(`${now}.${body}`).digest('hex');
    expect(header).toBe(`t=${now},v1=${expected}`);
    expect(verify(header, body, ['s3cret'], now)).toEqual({ ok: true });
    expect(verify(header, Buffer.from(body), ['s3cret'], now)).toEqual({ ok: true });
  });

  it('accepts a rotated secret: any v1 matching any secret', () => {
    expect(verify(sign('old', body, now), body, ['new', 'old'], now)).toEqual({ ok: true });
    const both = sign(['new', 'old'], body, now);
    expect(both.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(verify(both, body, ['old'], now)).toEqual({ ok: true });
    expect(verify(both, body, ['new'], now)).toEqual({ ok: true });
    const foreignFirst = `${sign('someone-else', body, now)},${sign('new', body, now).split(',')[1]}`;
    expect(verify(foreignFirst, body, ['new'], now)).toEqual({ ok: true });
  });

  it('signs a GET over the empty body', () => {
    expect(verify(sign('k', '', now), '', ['k'], now)).toEqual({ ok: true });
    expect(verify(sign('k', '', now), '{}', ['k'], now)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects stale timestamps, past and future, beyond the tolerance only', () => {
    const header = sign('k', body, now);
    expect(verify(header, body, ['k'], now + 300)).toEqual({ ok: true });
    expect(verify(header, body, ['k'], now + 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(header, body, ['k'], now - 300)).toEqual({ ok: true });
    expect(verify(header, body, ['k'], now - 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(header, body, ['k'], now + 61, 60)).toEqual({ ok: false, reason: 'stale' });
  });

  it('reports missing and malformed headers', () => {
    expect(verify(undefined, body, ['k'], now)).toEqual({ ok: false, reason: 'missing' });
    expect(verify('  ', body, ['k'], now)).toEqual({ ok: false, reason: 'missing' });
    const v1 = sign('k', body, now).split(',')[1];
    for (const bad of ['garbage', `t=abc,${v1}`, `${v1}`, `t=${now}`, `t=${now},v1=zz`, `t=${now},v1=abcd`, `t=${now},t=${now},${v1}`, `t=${now},,${v1}`]) {
      expect(verify(bad, body, ['k'], now), bad).toEqual({ ok: false, reason: 'malformed' });
    }
    // unknown schemes are ignored, like v0
    expect(parseSignature(`t=${now},v0=xyz,${v1}`)?.v1).toHaveLength(1);
  });

  it('rejects a tampered body, a wrong secret and a moved timestamp', () => {
    const header = sign('k', body, now);
    expect(verify(header, body.replace('3000', '1'), ['k'], now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(header, body, ['other'], now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(header.replace(`t=${now}`, `t=${now + 1}`), body, ['k'], now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(header, body, [], now)).toEqual({ ok: false, reason: 'mismatch' });
  });
});

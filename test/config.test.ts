/** Configuration from the environment (API.md, "Configuration"): defaults, production rules, clear errors. */
import { describe, expect, it } from 'vitest';
import { authenticate } from '../http/auth.ts';
import { ConfigError, loadConfig } from '../app/config.ts';

const production = {
  NODE_ENV: 'production',
  API_TOKENS: 'open-platform:prod-open-platform-token,admin:prod-admin-token',
  PAYMENT_PLATFORM_SECRET: 'prod-platform-secret-0123456789abcdef',
  CODE_SECRET: 'prod-code-secret-0123456789abcdef0123456789',
  DATA_KEY_SECRET: 'prod-data-key-secret-0123456789abcdef01234',
  PAYMENT_PLATFORM_URL: 'https://pay.example.com/api',
  BOSS_URL: 'https://boss.example.com/api',
  BOSS_TOKEN: 'prod-boss-token-0123456789',
  SMS_GATEWAY_URL: 'https://sms.example.com/api',
};

describe('loadConfig', () => {
  it('a fresh machine: the embedded defaults of API.md, dev tokens, simulated partners', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      production: false,
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      eventstoreUrl: undefined,
      mongodbUrl: undefined,
      devTokens: true,
      paymentPlatformUrl: undefined,
      bossUrl: undefined,
      smsGatewayUrl: undefined,
      publicBaseUrl: undefined,
      orderTtlSeconds: 900,
      codeTtlSeconds: 300,
      paymentQueryAfterSeconds: 120,
      retryBaseMs: 1000,
      retryMaxAttempts: 8,
      logLevel: 'info',
    });
    expect(authenticate(c.tokens, 'Bearer dev-open-platform-token', ['open-platform']).ok).toBe(true);
  });

  it('production refuses to start without API_TOKENS, PAYMENT_PLATFORM_SECRET, CODE_SECRET and DATA_KEY_SECRET, naming them', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new ConfigError('production needs API_TOKENS, PAYMENT_PLATFORM_SECRET, CODE_SECRET, DATA_KEY_SECRET'),
    );
    const { CODE_SECRET: _omitted, ...withoutCode } = production;
    expect(() => loadConfig(withoutCode)).toThrow(/production needs CODE_SECRET$/);
    const { DATA_KEY_SECRET: _none, ...withoutDataKey } = production;
    expect(() => loadConfig(withoutDataKey)).toThrow(/production needs DATA_KEY_SECRET$/);
  });

  it.each(['PAYMENT_PLATFORM_URL', 'BOSS_URL', 'SMS_GATEWAY_URL'] as const)(
    'production refuses to start without %s: the partner would be simulated (orders paid with no money, channels opened for nothing)',
    (variable) => {
      const { [variable]: _omitted, ...without } = production;
      expect(() => loadConfig(without)).toThrow(new ConfigError(`production needs ${variable} (a partner without its URL is simulated)`));
    },
  );

  it('production without any partner URL names all three; outside production they may be unset (the simulators)', () => {
    const { PAYMENT_PLATFORM_URL: _p, BOSS_URL: _b, BOSS_TOKEN: _t, SMS_GATEWAY_URL: _s, ...secretsOnly } = production;
    expect(() => loadConfig(secretsOnly)).toThrow(
      new ConfigError('production needs PAYMENT_PLATFORM_URL, BOSS_URL, SMS_GATEWAY_URL (a partner without its URL is simulated)'),
    );
    expect(loadConfig({ ...secretsOnly, NODE_ENV: 'development' })).toMatchObject({
      production: false,
      paymentPlatformUrl: undefined,
      bossUrl: undefined,
      smsGatewayUrl: undefined,
    });
  });

  it.each(['DATA_KEY_SECRET', 'PAYMENT_PLATFORM_SECRET'] as const)(
    '%s: a rotation list, the first in use; every entry at least 32 characters (a short one cannot hide in the list), the refusal names the entry but never shows it',
    (variable) => {
      const long = 'rotated-secret-0123456789abcdef-new';
      const old = 'rotated-secret-0123456789abcdef-old';
      const secrets = (c: ReturnType<typeof loadConfig>) => (variable === 'DATA_KEY_SECRET' ? c.dataKeySecrets : c.paymentPlatformSecrets);
      expect(secrets(loadConfig({ ...production, [variable]: `${long},${old}` }))).toEqual([long, old]);
      expect(secrets(loadConfig({ ...production, [variable]: 'x'.repeat(32) }))).toEqual(['x'.repeat(32)]);
      const refused: [string, string][] = [
        [`${long},short-but-secret`, 'entry 2 of 2'],
        [`${long},`, 'entry 2 of 2'],
        [`,${long}`, 'entry 1 of 2'],
        [`${long},${old},${'y'.repeat(31)}`, 'entry 3 of 3'],
        ['z'.repeat(31), 'entry 1 of 1'],
      ];
      for (const [bad, entry] of refused) {
        const error = (() => {
          try {
            loadConfig({ ...production, [variable]: bad });
          } catch (err) {
            return err;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toBe(`${variable}: ${entry} is shorter than 32 characters`);
        for (const part of bad.split(',').filter((p) => p.length > 0)) expect((error as ConfigError).message).not.toContain(part);
      }
    },
  );

  it('DATA_KEY_SECRET may be unset outside production', () => {
    // Outside production it may be left unset: then it is generated once per data directory.
    expect(loadConfig({}).dataKeySecrets).toBeUndefined();
  });

  it('the key store file and retention: DATA_DIR/keys.db and off by default; PII_RETENTION_DAYS is a whole number of days', () => {
    expect(loadConfig({ DATA_DIR: '/var/tvpay' })).toMatchObject({ dataKeysFile: '/var/tvpay/keys.db', piiRetentionDays: undefined });
    expect(loadConfig({ DATA_KEYS_FILE: '/shared/keys.db', PII_RETENTION_DAYS: '365' })).toMatchObject({
      dataKeysFile: '/shared/keys.db',
      piiRetentionDays: 365,
    });
    for (const bad of ['0', '-1', '1.5', 'a year']) expect(() => loadConfig({ PII_RETENTION_DAYS: bad })).toThrow(/^PII_RETENTION_DAYS: /);
  });

  it('production with its secrets: no dev token works', () => {
    const c = loadConfig(production);
    expect(c.devTokens).toBe(false);
    expect(authenticate(c.tokens, 'Bearer dev-open-platform-token', ['open-platform'])).toEqual({ ok: false, status: 401 });
    expect(authenticate(c.tokens, 'Bearer prod-admin-token', ['open-platform'])).toEqual({ ok: false, status: 403 });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ ORDER_TTL_SECONDS: '0' }, /^ORDER_TTL_SECONDS: /],
    [{ LOG_LEVEL: 'chatty' }, /^LOG_LEVEL: /],
    [{ EVENTSTORE_URL: 'http://localhost:2113' }, /^EVENTSTORE_URL: .*esdb:\/\//],
    [{ MONGODB_URL: 'postgres://x' }, /^MONGODB_URL: /],
    [{ BOSS_URL: 'http://127.0.0.1:9000' }, /^BOSS_TOKEN: required with BOSS_URL$/],
    [{ PAYMENT_PLATFORM_URL: 'http://127.0.0.1:9001' }, /^PAYMENT_PLATFORM_SECRET: required with PAYMENT_PLATFORM_URL$/],
    [{ PAYMENT_PLATFORM_SECRET: 'short' }, /^PAYMENT_PLATFORM_SECRET: entry 1 of 1 is shorter than 32 characters$/],
    [{ RATE_LIMIT_CONFIRM_PER_PAYMENT: '0' }, /^RATE_LIMIT_CONFIRM_PER_PAYMENT: /],
    [{ RATE_LIMIT_WINDOW_SECONDS: 'a minute' }, /^RATE_LIMIT_WINDOW_SECONDS: /],
    [{ OPEN_PLATFORM_CALLBACK_URL: 'https://open.example.com/cb' }, /^OPEN_PLATFORM_CALLBACK_SECRET: required with OPEN_PLATFORM_CALLBACK_URL$/],
    [
      { OPEN_PLATFORM_CALLBACK_URL: 'https://open.example.com/cb', OPEN_PLATFORM_CALLBACK_SECRET: 'short' },
      /^OPEN_PLATFORM_CALLBACK_SECRET: at least 16 characters$/,
    ],
    [{ OPEN_PLATFORM_CALLBACK_URL: 'not a url', OPEN_PLATFORM_CALLBACK_SECRET: 'callback-secret-0123456789' }, /^OPEN_PLATFORM_CALLBACK_URL: /],
    [
      { OPEN_PLATFORM_CALLBACK_URL: 'ftp://open.example.com/cb', OPEN_PLATFORM_CALLBACK_SECRET: 'callback-secret-0123456789' },
      /^OPEN_PLATFORM_CALLBACK_URL: an http:\/\/ or https:\/\/ URL$/,
    ],
    [{ API_TOKENS: 'superuser:some-long-token' }, /^API_TOKENS: "superuser" is not a role/],
    [{ API_TOKENS: 'admin:short' }, /^API_TOKENS: the admin token is shorter than 8 characters$/],
    [
      { API_TOKENS: 'customer-service:alice:same-token-0123,admin:same-token-0123' },
      /^API_TOKENS: entry 2 repeats the token of an earlier entry: each token names one caller$/,
    ],
  ])('%o is refused with an error naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('the open platform callback: off by default; on with a URL and its secret', () => {
    expect(loadConfig({}).openPlatformCallback).toBeUndefined();
    expect(loadConfig({ OPEN_PLATFORM_CALLBACK_SECRET: 'callback-secret-0123456789' }).openPlatformCallback).toBeUndefined();
    expect(
      loadConfig({ OPEN_PLATFORM_CALLBACK_URL: 'https://open.example.com/cb', OPEN_PLATFORM_CALLBACK_SECRET: 'callback-secret-0123456789' })
        .openPlatformCallback,
    ).toEqual({ url: 'https://open.example.com/cb', secret: 'callback-secret-0123456789' });
  });

  it('abuse limits: the documented defaults, each settable', () => {
    expect(loadConfig({}).limits).toEqual({
      windowSeconds: 60,
      max: {
        'auth-failures-per-ip': 30,
        'confirm-per-payment': 10,
        'confirm-per-ip': 300,
        'resend-per-payment': 5,
        'resend-per-ip': 60,
        'orders-per-client': 600,
      },
    });
    const c = loadConfig({ RATE_LIMIT_WINDOW_SECONDS: '10', RATE_LIMIT_AUTH_FAILURES_PER_IP: '3', RATE_LIMIT_ORDERS_PER_CLIENT: '7' });
    expect(c.limits).toMatchObject({ windowSeconds: 10, max: { 'auth-failures-per-ip': 3, 'orders-per-client': 7, 'confirm-per-payment': 10 } });
  });

  it('TRUST_PROXY: none by default; addresses, CIDR blocks and range names; "everyone" or a bad entry is refused, naming its place', () => {
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1,loopback,fd00::/8' }).trustProxy).toEqual(['10.0.0.0/8', '192.0.2.1', 'loopback', 'fd00::/8']);
    for (const [bad, entry] of [
      ['true', 1],
      ['*', 1],
      ['10.0.0.0/8,0.0.0.0/33', 2],
      ['10.0.0.0/8/1', 1],
      ['proxy.internal', 1],
    ] as const) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(
        new RegExp(`^TRUST_PROXY: entry ${entry} is not an address, a CIDR block or one of loopback, linklocal, uniquelocal`),
      );
    }
    // Everyone, or a share of everyone, in blocks: refused before the server would start.
    for (const [wide, entry] of [
      ['0.0.0.0/0', 1],
      ['0.0.0.0/1,128.0.0.0/1', 1],
      ['10.0.0.0/8,::/0', 2],
      ['2000::/3', 1],
    ] as const) {
      expect(() => loadConfig({ TRUST_PROXY: wide }), wide).toThrow(new RegExp(`^TRUST_PROXY: entry ${entry} trusts a block wider than /8`));
    }
  });

  it('CONSUMERS: all by default; none; a list, without repeats; all or none beside a name, or a name that is not a word, is refused', () => {
    expect(loadConfig({}).consumers).toBe('all');
    expect(loadConfig({ CONSUMERS: 'none' }).consumers).toEqual([]);
    expect(loadConfig({ CONSUMERS: 'orders, worker,orders' }).consumers).toEqual(['orders', 'worker']);
    for (const [bad, why] of [
      ['all,orders', 'all and none stand alone'],
      ['none,worker', 'all and none stand alone'],
      [',', 'all, none, or comma-separated consumer names'],
      ['Orders', 'consumer names are lower-case words'],
      ['orders;worker', 'consumer names are lower-case words'],
    ] as const) {
      expect(() => loadConfig({ CONSUMERS: bad }), bad).toThrow(new RegExp(`^CONSUMERS: ${why}`));
    }
  });

  it('an empty variable counts as unset', () => {
    expect(loadConfig({ PORT: '', EVENTSTORE_URL: '' })).toMatchObject({ port: 3000, eventstoreUrl: undefined });
  });

  it('several platform secrets (rotation): the first signs, all verify; a public URL loses its trailing slash', () => {
    const c = loadConfig({
      PAYMENT_PLATFORM_SECRET: 'new-secret-0123456789abcdef0123456,old-secret-0123456789abcdef0123456',
      PUBLIC_BASE_URL: 'https://tv.example.com/',
    });
    expect(c.paymentPlatformSecrets).toEqual(['new-secret-0123456789abcdef0123456', 'old-secret-0123456789abcdef0123456']);
    expect(c.publicBaseUrl).toBe('https://tv.example.com');
  });
});

describe('npm start', () => {
  it('in production without its secrets: exits 78 (EX_CONFIG) with a one-line reason, before opening anything', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', DATA_DIR: '/nonexistent/never-created' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr.trim()).toBe('tvpay-ledger: configuration: production needs API_TOKENS, PAYMENT_PLATFORM_SECRET, CODE_SECRET, DATA_KEY_SECRET');
  });

  it('in production with its secrets but without PAYMENT_PLATFORM_URL: exits 78 naming it, and serves nothing (no simulated payments)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { PAYMENT_PLATFORM_URL: _omitted, ...env } = production;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { PATH: process.env.PATH ?? '', ...env, DATA_DIR: '/nonexistent/never-created' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr.trim()).toBe('tvpay-ledger: configuration: production needs PAYMENT_PLATFORM_URL (a partner without its URL is simulated)');
    for (const secret of [env.PAYMENT_PLATFORM_SECRET, env.CODE_SECRET, env.DATA_KEY_SECRET]) expect(r.stderr).not.toContain(secret);
  });
});

/**
 * SMS templates (sms-templates.json, SMS_TEMPLATES_FILE): rendered as the recipient reads them, sent as
 * template id + parameters + text, and validated at start like the catalog: a bad file stops the
 * service with exit 78, naming the problem.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.ts';
import { loadSmsTemplates, PROJECT_ROOT, projectFile } from '../../app/project.ts';
import { compose } from '../../app/service.ts';
import { createLogger } from '../../http/logger.ts';
import { InvalidSmsTemplates, parseSmsTemplates } from '../../outbound/sms-templates.ts';
import { startReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { startTestLedger } from '../support/ledger-app.ts';
import { orderInStatus } from '../flow/support.ts';
import { accountingDay } from '../../domain/accounts.ts';
import { waitUntil } from '../support/wait.ts';

type TemplatesFile = { signName: string; templates: Record<string, { templateId: string; text: string } | undefined> };
const shipped = (): TemplatesFile => JSON.parse(readFileSync(projectFile('sms-templates.json'), 'utf8')) as TemplatesFile;
const withTemplate = (kind: string, patch: Partial<{ templateId: string; text: string }>): TemplatesFile => {
  const file = shipped();
  const current = file.templates[kind] ?? { templateId: 'X', text: 'x' };
  file.templates[kind] = { ...current, ...patch };
  return file;
};
const problemsOf = (json: unknown): string => {
  try {
    parseSmsTemplates(json);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSmsTemplates);
    return (err as Error).message;
  }
  throw new Error('the templates were accepted');
};

describe('the shipped templates', () => {
  const templates = loadSmsTemplates(projectFile('sms-templates.json'));

  it("render today's texts, signature first; the parameters are exactly the placeholders", () => {
    expect(templates.render('code', { subject: '体育包', amount: '¥38.00', code: '482913', ttlMinutes: '5' })).toEqual({
      templateId: 'TVPAY_CODE',
      signName: '有线电视',
      params: { subject: '体育包', amount: '¥38.00', code: '482913', ttlMinutes: '5' },
      text: '【有线电视】您正在订购「体育包」，金额¥38.00。验证码482913，5分钟内有效，请勿告诉他人。',
    });
    expect(templates.render('order', { name: '体育包', amount: '¥38.00' }).text).toBe(
      '【有线电视】您已订购「体育包」，金额¥38.00，请在手机上输入短信验证码确认支付。',
    );
    expect(templates.render('payment-failed', { name: '体育包' })).toMatchObject({ templateId: 'TVPAY_PAYMENT_FAILED', params: { name: '体育包' } });
  });

  it('a value holding braces is sent as it is, never read as a placeholder', () => {
    expect(templates.render('paid', { name: '{amount}', amount: '¥1.00' }).text).toBe('【有线电视】「{amount}」已支付¥1.00，频道即将开通。');
  });

  it("an operator's own ids, texts and signature are used as written; unused parameters are not sent", () => {
    const own = parseSmsTemplates({ ...withTemplate('paid', { templateId: 'SMS_245170012', text: '已收到您的付款，{name}马上开通' }), signName: '某某广电' });
    expect(own.render('paid', { name: '体育包', amount: '¥38.00' })).toEqual({
      templateId: 'SMS_245170012',
      signName: '某某广电',
      params: { name: '体育包' },
      text: '【某某广电】已收到您的付款，体育包马上开通',
    });
  });
});

describe('a bad templates file is refused, naming the problem', () => {
  it('a missing template', () => {
    const file = shipped();
    delete file.templates['provisioned'];
    expect(problemsOf(file)).toBe('SMS templates: templates.provisioned: missing (its text may use {name}, {validUntil})');
  });

  it('an unknown placeholder', () => {
    expect(problemsOf(withTemplate('paid', { text: '「{name}」已支付{price}' }))).toBe(
      'SMS templates: templates.paid.text: unknown placeholder {price} (known: name, amount)',
    );
  });

  it('a brace that is not part of a placeholder', () => {
    expect(problemsOf(withTemplate('order', { text: '您已订购「{name」' }))).toMatch(/templates\.order\.text: a "\{" or "\}" that is not part of a \{param\}/);
  });

  it('a code message without its code', () => {
    expect(problemsOf(withTemplate('code', { text: '您正在订购「{subject}」' }))).toContain('templates.code.text: must contain {code}');
  });

  it('one template id for two kinds of message', () => {
    expect(problemsOf(withTemplate('refunded', { templateId: 'TVPAY_PAID' }))).toContain('templates.refunded.templateId: "TVPAY_PAID" is also the id of paid');
  });

  it('an empty template id, a signature in brackets, an unknown kind of message', () => {
    expect(problemsOf(withTemplate('paid', { templateId: ' ' }))).toContain('templates.paid.templateId: the id the SMS platform approved the template under');
    expect(problemsOf({ ...shipped(), signName: '【有线电视】' })).toContain('signName: without 【】');
    const extra = shipped();
    extra.templates['welcome'] = { templateId: 'W', text: 'hi' };
    expect(problemsOf(extra)).toMatch(/templates: Unrecognized key: "welcome"/);
  });

  describe('at start', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tvpay-sms-templates-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('compose() throws a ConfigError naming the file and the field, before creating the data dir', async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(withTemplate('paid', { text: '{nme}已支付' })));
      const dataDir = join(dir, 'data');
      const config = loadConfig({ DATA_DIR: dataDir, SMS_TEMPLATES_FILE: file, LOG_LEVEL: 'silent' });
      const err = await compose(config, createLogger('silent')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(`${file}: SMS templates: templates.paid.text: unknown placeholder {nme} (known: name, amount)`);
      expect(() => readFileSync(dataDir)).toThrow(/ENOENT/);
    });

    it('npm start exits 78 with the reason on one line; a file that is not JSON, or not there, too', () => {
      const notJson = join(dir, 'not.json');
      writeFileSync(notJson, '{ "signName": ');
      for (const [file, reason] of [
        [notJson, `SMS templates ${notJson}: `],
        [join(dir, 'absent.json'), `SMS templates ${join(dir, 'absent.json')}: ENOENT`],
      ] as const) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
          cwd: PROJECT_ROOT,
          env: { PATH: process.env.PATH ?? '', DATA_DIR: join(dir, 'start-data'), SMS_TEMPLATES_FILE: file, PORT: '0' },
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(r.status, r.stderr).toBe(78);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(`tvpay-ledger: configuration: ${reason}`);
      }
    });
  });
});

describe('what goes to the SMS gateway', () => {
  let gateway: CallbackReceiver;
  beforeAll(async () => {
    gateway = await startReceiver();
  });
  afterAll(() => gateway.close());

  it("POST /messages carries the template id, the signature, the parameters and the rendered text; the TV's date is in China Standard Time", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvpay-sms-own-'));
    const file = join(dir, 'sms-templates.json');
    writeFileSync(file, JSON.stringify(withTemplate('order', { templateId: 'SMS_0002', text: '订购{name}，{amount}' })));
    const t = await startTestLedger({ SMS_GATEWAY_URL: gateway.url.replace(/\/tvpay\/callbacks$/, ''), SMS_TEMPLATES_FILE: file }, { process: true });
    try {
      // 17:00 UTC is 01:00 the next day in China: the entitlement's last day differs between the two.
      t.clock.now = new Date('2026-11-25T17:00:00.000Z');
      const placed = await t.placeOrder({}, 'sms-templates-1');
      expect(placed.statusCode).toBe(201);
      const { paymentId } = placed.json<{ paymentId: string }>();
      const bodies = await waitUntil(
        async () => (gateway.requests.length >= 2 ? gateway.requests.map((r) => r.body) : undefined),
        'the code SMS and the TV message at the gateway',
      );
      const code = bodies.find((b) => b['templateId'] === 'TVPAY_CODE');
      expect(code).toEqual({
        messageId: expect.any(String),
        to: { msisdn: '+8613800138000' },
        templateId: 'TVPAY_CODE',
        signName: '有线电视',
        params: { subject: expect.stringContaining('体育包'), amount: '¥38.00', code: t.codeFor(paymentId), ttlMinutes: '5' },
        text: expect.stringMatching(new RegExp(`^【有线电视】您正在订购「.*」，金额¥38\\.00。验证码${t.codeFor(paymentId)}，5分钟内有效，请勿告诉他人。$`)),
      });
      const tv = bodies.find((b) => b['templateId'] === 'SMS_0002');
      expect(tv).toMatchObject({
        to: { smartcardId: expect.any(String) },
        params: { name: '体育包 Sports (1 month)', amount: '¥38.00' },
        text: '【有线电视】订购体育包 Sports (1 month)，¥38.00',
      });

      expect((await t.confirm(paymentId, t.codeFor(paymentId))).statusCode).toBe(200);
      const provisioned = await waitUntil(
        async () => gateway.requests.find((r) => r.body['templateId'] === 'TVPAY_PROVISIONED')?.body,
        'the TV told the channels are open',
      );
      const order = await orderInStatus(t, placed.json<{ orderId: string }>().orderId, 'provisioned');
      const validUntil = (order['boss'] as { validUntil: string }).validUntil;
      expect(validUntil.slice(0, 10)).not.toBe(accountingDay(validUntil));
      expect(provisioned['params']).toEqual({ name: '体育包 Sports (1 month)', validUntil: accountingDay(validUntil) });
      expect(provisioned['text']).toBe(`【有线电视】「体育包 Sports (1 month)」已开通，有效期至${accountingDay(validUntil)}。`);
      expect(gateway.requests.every((r) => r.headers['idempotency-key'] === r.body['messageId'])).toBe(true);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The patent flow on two screens: /demo/tv driven by the remote's keys and /demo/phone with the
 * simulator's SMS inbox, opened side by side, run claims 1–3 against the service in this process.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountingDay } from '../../projections/finance.ts';
import { writesNothing } from '../api/support.ts';
import { orderInStatus } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { BROWSER_TEST_TIMEOUT_MS, launchChromium, screenshot, serve, textMatches, watchErrors } from './support.ts';

let browser: Browser;
let t: TestLedger;
let base: string;
let context: BrowserContext;
let tv: Page;
let phone: Page;
let errors: string[];

beforeAll(async () => {
  browser = await launchChromium();
  ({ t, base } = await serve());
}, BROWSER_TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

beforeEach(async () => {
  // Orders of the household follow each other in time, as they would at home.
  t.clock.advance(60);
  context = await browser.newContext({ locale: 'zh-CN' });
  tv = await context.newPage();
  await tv.setViewportSize({ width: 1280, height: 720 });
  phone = await context.newPage();
  await phone.setViewportSize({ width: 430, height: 860 });
  errors = [...watchErrors(tv), ...watchErrors(phone)];
});

afterEach(async () => {
  await context.close();
  expect(errors).toEqual([]);
});

const focused = (page: Page): Promise<string> => page.evaluate('document.activeElement.id');

/** On the TV: from the package list, with the remote, order the package `steps` down from the top with mobile payment. */
const orderOnTv = async (steps: number, productId: string): Promise<void> => {
  await tv.goto(`${base}/demo/tv`);
  await textMatches(tv.locator('#screen'), /节目套餐/, 'the package list');
  await tv.locator('.package').first().waitFor();
  for (let i = 0; i < steps; i++) await tv.keyboard.press('ArrowDown');
  expect(await focused(tv)).toBe(`pkg-${productId}`);
  await tv.keyboard.press('Enter');
  await textMatches(tv.locator('#screen'), /包含频道/, 'the package details');
  expect(await focused(tv)).toBe('order-mobile');
  await tv.keyboard.press('Enter');
  await textMatches(tv.locator('#screen'), /订单详情/, 'the order details');
};

const orderIdOf = async (): Promise<string> => {
  const r = await t.app.inject({ method: 'GET', url: `/v1/orders?smartcardId=8100000000000042&limit=1`, headers: bearer(TOKENS.service) });
  return r.json<{ items: { orderId: string }[] }>().items[0]?.orderId ?? '';
};

describe('the patent flow on a TV and a phone', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('side by side: choose with the remote, order with mobile payment, the phone gets the details and the code, confirm, the channels open (claims 1–3)', async () => {
    await orderOnTv(1, 'sports-month');
    const screen = await tv.locator('#screen').innerText();
    expect(screen).toMatch(/体育包 Sports \(1 month\)/);
    expect(screen).toMatch(/¥38\.00/);
    expect(screen).toMatch(/138\*\*\*\*8000/);
    await textMatches(tv.locator('#tv-status'), /请在手机上确认支付/, 'confirm on your phone');
    // Claim 3: the TV is told the order's details too.
    await textMatches(
      tv.locator('#tv-messages li'),
      /您已订购「体育包 Sports \(1 month\)」，金额¥38\.00，请在手机上输入短信验证码确认支付/,
      'the TV’s message',
    );

    await phone.goto(`${base}/demo/phone`);
    const sms = await textMatches(phone.locator('#inbox li'), /验证码(\d{6})/, 'the code SMS with the order details');
    expect(sms).toMatch(/您正在订购「体育包 Sports \(1 month\)」，金额¥38\.00/);
    const code = /验证码(\d{6})/.exec(sms)?.[1] ?? '';
    await textMatches(phone.locator('#payment'), /体育包 Sports \(1 month\)[\s\S]*¥38\.00/, 'the payment details');

    await phone.locator('#code').fill(code === '000000' ? '111111' : '000000');
    await phone.locator('#confirm').click();
    await textMatches(phone.locator('#phone-result'), /验证码错误 \(还剩 4 次\)/, 'a wrong code, in words');
    await phone.locator('#code').fill(code);
    await phone.locator('#code').press('Enter');
    await textMatches(phone.locator('#pay-outcome'), /支付成功 ¥38\.00，频道已开通。/, 'paid and open, on the phone');

    const open = await textMatches(tv.locator('#tv-status'), /频道已开通，有效期至 \d{4}-\d\d-\d\d/, 'channels open until …, on the TV');
    await textMatches(tv.locator('#tv-open li'), /体育包 Sports \(1 month\)：至 \d{4}-\d\d-\d\d/, 'the package among the open ones');
    await textMatches(tv.locator('#tv-messages li'), /「体育包 Sports \(1 month\)」已支付¥38\.00，频道即将开通。/, 'the TV told of the payment');
    await textMatches(tv.locator('#tv-messages li'), /「体育包 Sports \(1 month\)」已开通，有效期至/, 'the TV told the channels are open');
    await textMatches(phone.locator('#inbox li'), /「体育包 Sports \(1 month\)」已支付¥38\.00/, 'the phone told of the payment');

    // The ledger agrees, and its history says the TV and the phone did it.
    const orderId = await orderIdOf();
    const order = await orderInStatus(t, orderId, 'provisioned');
    // The TV says the day in China Standard Time.
    expect(open).toContain(accountingDay((order.boss as { validUntil: string }).validUntil));
    const history = await t.app.inject({ method: 'GET', url: `/v1/orders/${orderId}/history`, headers: bearer(TOKENS.admin) });
    const actors = Object.fromEntries(
      history.json<{ events: { type: string; metadata: { actor: unknown } }[] }>().events.map((e) => [e.type, e.metadata.actor]),
    );
    expect(actors.OrderPlaced).toEqual({ role: 'open-platform', client: 'demo/set-top-box', name: 'demo-tv' });
    expect(actors.PaymentConfirmed).toEqual({ role: 'phone-app', client: 'demo/phone', name: 'demo-phone' });

    await screenshot(browser, tv, 'demo-tv');
    await screenshot(browser, phone, 'demo-phone');
  });

  it('the subscriber declines on the phone, and the TV says the order is cancelled', async () => {
    await orderOnTv(0, 'hd-basic-month');
    await phone.goto(`${base}/demo/phone`);
    await textMatches(phone.locator('#payment'), /高清基本包[\s\S]*¥18\.00/, 'the new payment on the phone');
    await phone.locator('#decline').click();
    await phone.locator('#decline-yes').click();
    await textMatches(phone.locator('#pay-outcome'), /您已拒绝支付，订单已取消。/, 'declined, on the phone');
    await textMatches(tv.locator('#tv-status'), /订单已取消/, 'cancelled, on the TV');
    await orderInStatus(t, await orderIdOf(), 'cancelled');
  });

  it('Escape on the remote goes back to the package list, with the package still selected', async () => {
    await tv.goto(`${base}/demo/tv`);
    await tv.locator('.package').first().waitFor();
    await tv.keyboard.press('Enter');
    await textMatches(tv.locator('#screen'), /包含频道/, 'the package details');
    await tv.keyboard.press('Escape');
    await textMatches(tv.locator('#screen'), /节目套餐/, 'back on the list');
    expect(await focused(tv)).toBe('pkg-hd-basic-month');
  });
});

describe('the demo surface', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('holds no token: the pages call only /demo/api, which acts for its one household', async () => {
    for (const path of ['/demo/tv', '/demo/phone', '/demo/assets/tv.js', '/demo/assets/phone.js', '/demo/assets/demo.js']) {
      const r = await t.app.inject({ method: 'GET', url: path });
      expect(r.statusCode, path).toBe(200);
      expect(r.body, path).not.toMatch(/authorization|bearer/i);
      for (const token of Object.values(TOKENS)) expect(r.body, path).not.toContain(token);
      expect(r.headers['content-security-policy'], path).toMatch(/default-src 'self'/);
    }
    // Another subscriber's payment is not the demo phone's business: it does not exist for it.
    const other = (await t.placeOrder({ msisdn: '13912345678', smartcardId: 'card-other' }, 'not-the-household')).json<{
      orderId: string;
      paymentId: string;
    }>();
    await orderInStatus(t, other.orderId, 'awaiting_confirmation');
    for (const action of ['decline', 'resend-code']) {
      const r = await writesNothing(t, () => t.app.inject({ method: 'POST', url: `/demo/api/phone/payments/${other.paymentId}/${action}` }));
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ type: 'urn:tvpay-ledger:problem:payment-not-found' });
    }
    const unknown = await writesNothing(t, () =>
      t.app.inject({ method: 'POST', url: '/demo/api/tv/orders', payload: { productId: 'no-such-package', key: 'demo-key-unknown-1' } }),
    );
    expect(unknown.statusCode).toBe(422);
  });

  it.each([
    // Production refuses to start with a simulated partner (test/config.test.ts), so it has every partner's URL.
    [
      'in production',
      {
        NODE_ENV: 'production',
        DATA_KEY_SECRET: 'demo-test-data-key-secret-0123456789abcdef',
        PAYMENT_PLATFORM_URL: 'http://127.0.0.1:9/pay',
        BOSS_URL: 'http://127.0.0.1:9/boss',
        BOSS_TOKEN: 'boss-token-0123456789',
        SMS_GATEWAY_URL: 'http://127.0.0.1:9/sms',
      },
    ],
    ['when BOSS is real', { BOSS_URL: 'http://127.0.0.1:9/boss', BOSS_TOKEN: 'boss-token-0123456789' }],
    ['when the SMS gateway is real', { SMS_GATEWAY_URL: 'http://127.0.0.1:9/sms' }],
  ])('is not there %s (the console is)', async (_when, env) => {
    const other = await startTestLedger(env);
    try {
      for (const path of ['/demo/tv', '/demo/phone', '/demo/api/phone', '/demo/api/products']) {
        expect((await other.app.inject({ method: 'GET', url: path })).statusCode, path).toBe(404);
      }
      expect(
        (await other.app.inject({ method: 'POST', url: '/demo/api/tv/orders', payload: { productId: 'sports-month', key: 'demo-key-prod-1' } })).statusCode,
      ).toBe(404);
      expect((await other.app.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });
});

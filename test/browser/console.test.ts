/**
 * The customer-service console in a real browser: an agent signs in with a named token, finds an
 * order by phone, reads its story, fixes a failed provisioning and sees it done; a role that may
 * not act sees no action; the queue; finance with its CSV; sessions that end go back to sign-in.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { accountingDay } from '../../projections/finance.ts';
import { readTaskEvent } from '../../outbound/task.ts';
import { bossSim, eventually, getOrder, orderInStatus } from '../flow/support.ts';
import type { TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { BROWSER_TEST_TIMEOUT_MS, AGENT, launchChromium, screenshot, serve, textMatches, watchErrors } from './support.ts';

let browser: Browser;
let t: TestLedger;
let base: string;
let context: BrowserContext;
let page: Page;
let errors: string[];

type Placed = { orderId: string; paymentId: string };

/** An order paid after one wrong code, whose BOSS provisioning then failed for good (BOSS down longer than the retries). */
const failedProvisioning = async (key: string, msisdn: string, smartcardId: string): Promise<Placed> => {
  const placed = (await t.placeOrder({ msisdn, smartcardId }, key)).json<Placed>();
  const right = t.codeFor(placed.paymentId);
  expect((await t.confirm(placed.paymentId, right === '000000' ? '111111' : '000000')).statusCode).toBe(422);
  expect((await t.confirm(placed.paymentId, right)).statusCode).toBe(200);
  await eventually(
    t,
    async () => {
      const r = await t.app.inject({ method: 'GET', url: `/v1/provisioning?status=failed&orderId=${placed.orderId}`, headers: bearer(TOKENS.service) });
      return r.json<{ items: unknown[] }>().items[0];
    },
    `the BOSS request of ${key} to fail`,
    { tickSeconds: 1, timeoutMs: 30_000 },
  );
  return placed;
};

/** Signs in and waits for the answer (signed in, or refused), so a navigation that follows is not overtaken by it. */
const signIn = async (token: string) => {
  await page.goto(`${base}/console/`);
  await page.getByLabel(/令牌|Token/).fill(token);
  await page.getByRole('button', { name: /登录|Sign in/ }).click();
  await page.locator('#signout, #signin-feedback [role=alert]').first().waitFor();
};

let byPhone: Placed;
let inQueue: Placed;

beforeAll(async () => {
  browser = await launchChromium();
  ({ t, base } = await serve({ RETRY_MAX_ATTEMPTS: '2' }));
  const boss = bossSim(t);
  boss.setFaults({ failNext: 4 });
  byPhone = await failedProvisioning('console-by-phone', '13900139000', 'card-console-1');
  inQueue = await failedProvisioning('console-queue', '13700137000', 'card-console-2');
  boss.setFaults({ failNext: 0 });
}, BROWSER_TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

beforeEach(async () => {
  context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  errors = watchErrors(page);
});

afterEach(async () => {
  await context.close();
  expect(errors).toEqual([]);
});

describe('customer-service console', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('an agent signs in, finds the order by phone, reads its timeline, reprovisions the failed provisioning and sees it provisioned', async () => {
    await signIn(AGENT.token);
    await textMatches(page.locator('#who'), /客服 zhang\.wei/, 'the agent’s name in the header');
    // Customer service has no finance; nothing links to it.
    expect(await page.locator('#nav').innerText()).not.toMatch(/财务/);

    await page.getByLabel('查找方式').selectOption('msisdn');
    await page.getByLabel('查找内容').fill('13900139000');
    await page.getByRole('button', { name: '查找' }).click();
    const row = page.locator('table.results tbody tr');
    await textMatches(row, /139\*\*\*\*9000/, 'the order in the results, phone masked');
    expect(await row.count()).toBe(1);
    expect(await page.locator('#results').innerText()).not.toContain('13900139000');
    await row.getByRole('link', { name: new RegExp(byPhone.orderId) }).click();

    await textMatches(page.locator('#order-status'), /已支付，待开通/, 'the order paid, not provisioned');
    const timeline = page.locator('table.timeline');
    const story = await textMatches(timeline, /BOSS 开通失败|支付成功/, 'the timeline');
    expect(story).toMatch(/下单：「体育包 Sports \(1 month\)」，金额 ¥38\.00，手机 139\*\*\*\*9000/);
    expect(story).toMatch(/用户手机\s+验证码错误 \(还剩 4 次\)/);
    expect(story).toMatch(/用户手机\s+用户在手机上确认支付/);
    expect(story).toMatch(/支付平台\s+支付成功 ¥38\.00/);
    expect(story).not.toMatch(/事件 /); // every event is told in words
    await textMatches(page.locator('table.boss-requests'), /#0\s+已失败\s+2\s+.*503/, 'the failed BOSS request with its attempts and error');
    await textMatches(page.locator('table.messages'), /验证码短信（第 1 条）\s+手机/, 'the code SMS to the phone');
    await textMatches(page.locator('table.messages'), /订单详情（请在手机上确认）\s+电视/, 'the order message to the TV');
    // The code itself is never on the agent's screen.
    expect(await page.locator('main').innerText()).not.toContain(t.codeFor(byPhone.paymentId));

    // Paid: no cancel, no resend; reprovision is offered.
    await expect(page.locator('#action-cancel').count()).resolves.toBe(0);
    await expect(page.locator('#action-resend').count()).resolves.toBe(0);
    await page.locator('#action-reprovision').click();
    const dialog = page.getByRole('dialog');
    await textMatches(dialog, /重新发送给 BOSS/, 'the confirmation');
    await dialog.getByRole('button', { name: '确定' }).click();
    await textMatches(page.locator('#action-result'), /已请求重新开通（请求 #1）/, 'the request acknowledged');
    await textMatches(page.locator('#order-status'), /已开通/, 'the order provisioned');
    await textMatches(timeline, /客服 zhang\.wei\s+请求重新开通（请求 #1）/, 'who reprovisioned, by name');
    await textMatches(timeline, /BOSS 开通成功，有效期 \d{4}-\d\d-\d\d 至 \d{4}-\d\d-\d\d（请求 #1）/, 'BOSS done');
    await textMatches(page.locator('table.boss-requests'), /#1\s+已完成/, 'the new BOSS request done');
    await screenshot(browser, page, 'console-order');

    // The smartcard now has the package open.
    await page.getByRole('link', { name: /查看智能卡 card-console-1/ }).click();
    await textMatches(page.locator('table.entitlements'), /体育包 Sports \(1 month\)\s+CCTV-5 HD/, 'the entitlement on the card');
    await textMatches(page.locator('#card-history'), /已开通/, 'the card’s order history');
  });

  it('the queue lists the failed provisioning, and reprovisioning the selected set clears it', async () => {
    await signIn(TOKENS.service);
    await page.getByRole('link', { name: '开通队列' }).click();
    const queue = page.locator('#queue');
    await textMatches(queue, new RegExp(inQueue.orderId.slice(0, 8)), 'the failed order in the queue');
    const submit = page.locator('#reprovision-selected');
    expect(await submit.isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: `选择订单 ${inQueue.orderId}` }).check();
    await textMatches(submit, /重新开通所选（1）/, 'one selected');
    await submit.click();
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await textMatches(page.locator('#queue-result'), /1 个已请求重新开通，0 个未执行/, 'the outcome');
    // Gone once its new request is done (a failed request replaced by a later one needs no hand).
    await textMatches(queue, new RegExp(`^(?![\\s\\S]*${inQueue.orderId.slice(0, 8)})`), 'the order gone from the queue');
    await orderInStatus(t, inQueue.orderId, 'provisioned');
  });

  it('a role that may not act sees no action: an admin reads the story and finance, and cannot cancel, reprovision or resend', async () => {
    await signIn(TOKENS.admin);
    await textMatches(page.locator('#page-title'), /财务日报/, 'the admin’s home: finance');
    const nav = await page.locator('#nav').innerText();
    expect(nav).toMatch(/财务日报/);
    await page.goto(`${base}/console/#/orders/${inQueue.orderId}`);
    await textMatches(page.locator('table.timeline'), /支付平台\s+支付成功 ¥38\.00/, 'the timeline, from the history');
    await textMatches(page.locator('#actions'), /当前没有您可以执行的操作/, 'no actions');
    expect(await page.locator('#actions button').count()).toBe(0);
    await page.getByRole('link', { name: '开通队列' }).click();
    await textMatches(page.locator('#page-title'), /开通队列/, 'the queue');
    expect(await page.locator('#reprovision-selected').count()).toBe(0);
    expect(await page.locator('#queue input[type=checkbox]').count()).toBe(0);
    // Search offers only what the role may read: the order id.
    await page.getByRole('link', { name: '查找订单' }).click();
    // The form is drawn with all its options at once: waiting for the first waits for the page.
    const options = page.getByLabel('查找方式').locator('option');
    await options.first().waitFor({ state: 'attached' });
    expect(await options.allInnerTexts()).toEqual(['订单号']);
  });

  it('a token whose role is not for the console, or no token known, is refused at sign-in in plain words', async () => {
    await signIn(TOKENS.phone);
    await textMatches(page.locator('#signin-feedback'), /此令牌的角色不能使用客服控制台/, 'wrong role');
    await page.getByLabel('令牌').fill('not-a-token-anyone-has');
    await page.getByRole('button', { name: '登录' }).click();
    await textMatches(page.locator('#signin-feedback'), /令牌无效/, 'unknown token');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('an action the service refuses is shown in plain words (problem+json)', async () => {
    await signIn(TOKENS.service);
    const placed = (await t.placeOrder({ msisdn: '13600136000', smartcardId: 'card-console-3' }, 'console-refused')).json<Placed>();
    await page.goto(`${base}/console/#/orders/${placed.orderId}`);
    await textMatches(page.locator('#order-status'), /等待确认/, 'the order awaiting confirmation');
    // The phone confirms behind the agent's back; the cancel button is still on the agent's screen.
    expect((await t.confirm(placed.paymentId, t.codeFor(placed.paymentId))).statusCode).toBe(200);
    await page.locator('#action-cancel').click();
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await textMatches(
      page.locator('#action-result [role=alert]'),
      /操作未执行：订单现在是「(支付处理中|已支付，待开通|已开通)」，不能再取消。/,
      'the refusal in words',
    );
  });

  it('the agent can resend the code, and declining the confirmation does nothing', async () => {
    await signIn(TOKENS.service);
    const placed = (await t.placeOrder({ msisdn: '13500135000', smartcardId: 'card-console-4' }, 'console-resend')).json<Placed>();
    await page.goto(`${base}/console/#/orders/${placed.orderId}`);
    await page.locator('#action-resend').click();
    await page.getByRole('dialog').getByRole('button', { name: '返回' }).click();
    expect(await page.locator('#action-result').innerText()).toBe('');
    t.clock.advance(61); // the resend interval
    await page.locator('#action-resend').click();
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await textMatches(page.locator('#action-result'), /已重新发送验证码，还可重发 2 次/, 'the resend done');
    await textMatches(page.locator('table.timeline'), /客服（customer-service\/[0-9a-f]{12}）\s+重新发送验证码（第 2 条）/, 'who resent it');
    await page.locator('#action-resend').click();
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await textMatches(page.locator('#action-result'), /请 \d+ 秒后再重新发送验证码/, 'the rate limit in words');
  });

  it('finance by day for an admin, with the day’s entries and both as CSV', async () => {
    const paid = await getOrder(t, byPhone.orderId);
    const day = accountingDay((paid?.steps as { paidAt: string } | undefined)?.paidAt ?? '');
    await signIn(TOKENS.admin);
    await page.goto(`${base}/console/#/finance?from=${day}&to=${day}`);
    const days = page.locator('table.finance');
    const row = await textMatches(days.locator('tbody tr'), new RegExp(`^${day}\\s+(\\d+) 笔 · ¥\\d+\\.00`), 'the day with its charges');
    const charges = Number(/(\d+) 笔/.exec(row)?.[1]);
    expect(charges).toBeGreaterThanOrEqual(2);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-days').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.replace(/^\uFEFF/, '').split('\r\n');
    expect(lines[0]).toBe('"日期","收款 #","收款 CNY","退款 #","退款 CNY","待核查 #","待核查 CNY","待核查款退回 #","待核查款退回 CNY","净额 CNY"');
    expect(lines[1]).toMatch(new RegExp(`^"${day}","${charges}","\\d+\\.00","0","0\\.00","0","0\\.00","0","0\\.00","\\d+\\.00"$`));
    expect(lines[2]).toMatch(new RegExp(`^"合计","${charges}",`));
    await page.getByRole('button', { name: `查看 ${day} 明细` }).click();
    await textMatches(page.locator('table.entries'), /收款\s+¥38\.00/, 'the charges of the day');
    const [dayFile] = await Promise.all([page.waitForEvent('download'), page.locator('#export-day').click()]);
    const entries = readFileSync(await dayFile.path(), 'utf8');
    expect(entries).toContain(byPhone.orderId);
    expect(entries).toMatch(/"收款","38\.00"/);
  });

  it('works from the keyboard alone: sign in, search, open the order, and Escape backs out of a confirmation', async () => {
    /** Tabs forward until the focused element satisfies the test (a JS expression over `el`). */
    const tabTo = async (test: string, what: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(`(el => Boolean(el && (${test})))(document.activeElement)`)) return;
      }
      throw new Error(`Tab never reached ${what}`);
    };
    await page.goto(`${base}/console/`);
    await tabTo("el.id === 'token'", 'the token field');
    await page.keyboard.type(TOKENS.service);
    await page.keyboard.press('Enter');
    await textMatches(page.locator('#page-title'), /查找订单/, 'signed in');
    await tabTo("el.id === 'search-q'", 'the search field');
    await page.keyboard.type('13900139000');
    await page.keyboard.press('Enter');
    await textMatches(page.locator('table.results tbody tr'), /139\*\*\*\*9000/, 'the result');
    await tabTo(`(el.getAttribute('aria-label') ?? '').includes('${byPhone.orderId}')`, 'the order link');
    await page.keyboard.press('Enter');
    await textMatches(page.locator('#page-title'), new RegExp(byPhone.orderId), 'the order page');
    await textMatches(page.locator('#actions'), /重新开通/, 'the action');
    const storyLength = async () =>
      (await t.app.inject({ method: 'GET', url: `/v1/orders/${byPhone.orderId}/history`, headers: bearer(TOKENS.admin) })).json<{ events: unknown[] }>().events
        .length;
    const before = await storyLength();
    await tabTo("el.id === 'action-reprovision'", 'the reprovision button');
    await page.keyboard.press('Enter');
    await textMatches(page.getByRole('dialog'), /重新发送给 BOSS/, 'the confirmation');
    expect(await page.evaluate('document.activeElement.id')).toBe('confirm-no');
    await page.keyboard.press('Escape');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.evaluate('document.activeElement.id')).toBe('action-reprovision');
    expect(await page.locator('#action-result').innerText()).toBe('');
    expect(await storyLength()).toBe(before);
  });

  it('an English switch', async () => {
    await signIn(TOKENS.service);
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await textMatches(page.locator('#page-title'), /Find orders/, 'the page in English');
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await page.goto(`${base}/console/#/orders/${byPhone.orderId}`);
    await textMatches(page.locator('table.timeline'), /Subscriber’s phone\s+Wrong code \(4 attempts left\)/, 'the timeline in English');
  });
});

describe('the console’s words', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('every word exists in both languages, and every event the ledger wrote in these tests has its sentence', async () => {
    await page.goto(`${base}/console/`);
    const words = await page.evaluate<{ zh: string[]; en: string[]; events: string[] }>(`(async () => {
      const { DICTIONARIES } = await import('/console/i18n.js');
      const { EVENT_TYPES } = await import('/console/words.js');
      return { zh: Object.keys(DICTIONARIES['zh-CN']), en: Object.keys(DICTIONARIES.en), events: EVENT_TYPES };
    })()`);
    expect(words.en.filter((k) => !words.zh.includes(k))).toEqual([]);
    expect(words.zh.filter((k) => !words.en.includes(k))).toEqual([]);
    expect(words.events.filter((type) => !words.zh.includes(`ev.${type}`))).toEqual([]);
    const written = new Set((await t.allEvents()).map((e) => e.type).filter((type) => !readTaskEvent({ type, data: {} })));
    expect([...written].filter((type) => !words.events.includes(type))).toEqual([]);
    expect(written.size).toBeGreaterThanOrEqual(8); // at least those of the orders placed before the tests
  });
});

describe('sessions', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('a console left idle for 30 minutes goes back to sign-in, forgets the token, and returns to the page after signing in again', async () => {
    await page.clock.install();
    await signIn(TOKENS.service);
    await page.goto(`${base}/console/#/orders/${byPhone.orderId}`);
    await textMatches(page.locator('#order-status'), /已/, 'the order page');
    await page.clock.fastForward('31:00');
    await textMatches(page.locator('#signin-feedback'), /会话已过期，请重新登录/, 'sign-in, saying why');
    expect(await page.evaluate("sessionStorage.getItem('tvpay.console.session')")).toBeNull();
    expect(await page.evaluate("localStorage.getItem('tvpay.console.session')")).toBeNull();
    await page.getByLabel('令牌').fill(TOKENS.service);
    await page.getByRole('button', { name: '登录' }).click();
    await textMatches(page.locator('#page-title'), new RegExp(byPhone.orderId), 'back on the order');
  });

  it('a token the service no longer accepts goes back to sign-in at the next call', async () => {
    await signIn(TOKENS.service);
    await textMatches(page.locator('#page-title'), /查找订单/, 'signed in');
    // As after a rotation of API_TOKENS: the token kept in the tab is no longer known.
    await page.evaluate(`{
      const key = 'tvpay.console.session';
      sessionStorage.setItem(key, JSON.stringify({ ...JSON.parse(sessionStorage.getItem(key)), token: 'rotated-away-token' }));
    }`);
    await page.getByLabel('查找内容').fill('13900139000');
    await page.getByRole('button', { name: '查找' }).click();
    await textMatches(page.locator('#signin-feedback'), /令牌已失效，请重新登录/, 'sign-in, saying why');
  });

  it('signing out forgets the token', async () => {
    await signIn(TOKENS.service);
    await textMatches(page.locator('#page-title'), /查找订单/, 'signed in');
    await page.getByRole('button', { name: '退出登录' }).click();
    await textMatches(page.locator('#signin-feedback'), /您已退出登录/, 'signed out');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });
});

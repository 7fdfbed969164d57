// What the two demo pages share: calls to the demo's own API (no token), a refresh loop, and
// refusals in plain words.
export { day, h, money, time } from '/console/dom.js';

const PROBLEM = 'urn:tvpay-ledger:problem:';

/** Calls /demo/api/…; resolves to { ok, status, body } and never throws on an HTTP refusal. */
export const call = async (method, path, body) => {
  try {
    const res = await fetch(path, {
      method,
      headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      cache: 'no-store',
    });
    return { ok: res.ok, status: res.status, body: await res.json().catch(() => null) };
  } catch {
    return { ok: false, status: 0, body: null };
  }
};

/** Runs `load` now and then every `everyMs` after the previous run ends, while the page is open. */
export const every = (everyMs, load) => {
  const run = async () => {
    try {
      await load();
    } catch {
      // shown by load; try again on the next round
    }
    setTimeout(run, everyMs);
  };
  run();
};

/** A refusal from the ledger in the words a subscriber understands. */
export const refusal = (r) => {
  if (r.status === 0) return '网络连接失败，请重试。';
  const p = r.body ?? {};
  const code = typeof p.type === 'string' && p.type.startsWith(PROBLEM) ? p.type.slice(PROBLEM.length) : '';
  switch (code) {
    case 'wrong-code':
      return p.attemptsLeft > 0 ? `验证码错误 (还剩 ${p.attemptsLeft} 次)` : '验证码错误次数过多，支付失败，订单已取消。';
    case 'code-expired':
      return '验证码已过期，请重新获取。';
    case 'resend-limit-reached':
      return typeof p.retryAfterSeconds === 'number' ? `请 ${p.retryAfterSeconds} 秒后再获取验证码。` : '验证码获取次数已用完。';
    case 'payment-already-confirmed':
      return '这笔支付已经确认过了。';
    case 'payment-closed':
    case 'order-not-payable':
      return '订单已关闭，不能再支付。';
    case 'validation':
      return '请输入 6 位数字验证码。';
    case 'unknown-product':
      return '这个套餐已下架。';
    default:
      return r.status >= 500 ? '服务暂时出错，请重试。' : `操作未完成：${p.detail ?? r.status}`;
  }
};

/** An id for one press of "order": a second press of the same button sends the same key (one order). */
export const newKey = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');

export const maskedCard = (id) => (id.length > 8 ? `${id.slice(0, 4)} **** ${id.slice(-4)}` : id);

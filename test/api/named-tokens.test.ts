/**
 * Agents are people: `API_TOKENS` entries may name the person holding a token (`role:name:token`),
 * and that name is in the metadata of every event they cause and in the log lines of their requests.
 * The two-part `role:token` keeps working, with the same client id as before.
 */
import { logCapture, type LogLine } from '../support/log-capture.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { authenticate, parseApiTokens } from '../../http/auth.ts';
import { ConfigError, loadConfig } from '../../app/config.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';

const AGENT_TOKEN = 'agent-li-na-token-0123';
const TOKENS_WITH_AGENT = [
  `open-platform:${TOKENS.openPlatform}`,
  `phone-app:${TOKENS.phone}`,
  `customer-service:${TOKENS.service}`,
  `customer-service:li.na:${AGENT_TOKEN}`,
  `admin:李娜:${TOKENS.admin}`,
].join(',');

let t: TestLedger | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('named tokens in API_TOKENS', () => {
  it('role:name:token names the actor; role:token still works, with the same client id as before', () => {
    const table = parseApiTokens(`customer-service:li.na:${AGENT_TOKEN},customer-service:${TOKENS.service},admin:李娜:${TOKENS.admin}`);
    const named = authenticate(table, `Bearer ${AGENT_TOKEN}`, ['customer-service']);
    expect(named).toEqual({ ok: true, actor: { role: 'customer-service', client: expect.stringMatching(/^customer-service\/[0-9a-f]{12}$/), name: 'li.na' } });
    expect(authenticate(table, `Bearer ${TOKENS.admin}`, ['admin'])).toMatchObject({ ok: true, actor: { name: '李娜' } });
    const plain = authenticate(table, `Bearer ${TOKENS.service}`, ['customer-service']);
    expect(plain).toEqual({ ok: true, actor: { role: 'customer-service', client: expect.any(String) } });
    // The client id depends on the token alone: naming a token later keeps its idempotency scope.
    const renamed = authenticate(parseApiTokens(`customer-service:someone:${TOKENS.service}`), `Bearer ${TOKENS.service}`, ['customer-service']);
    expect(renamed.ok && plain.ok && renamed.actor.client === plain.actor.client).toBe(true);
  });

  it.each([
    ['customer-service:li na:agent-token-123', /^API_TOKENS: the name of a customer-service token must be 1–64 letters/],
    ['customer-service::agent-token-123', /^API_TOKENS: the name of a customer-service token must be/],
    [`admin:a:b:${'x'.repeat(12)}`, /^API_TOKENS: a admin entry has more than three ':'-separated parts/],
    ['customer-service:li.na:short', /^API_TOKENS: the customer-service token of li\.na is shorter than 8 characters$/],
    ['agent:li.na:agent-token-123', /^API_TOKENS: "agent" is not a role/],
  ])('%s is refused at start, naming the problem and never the token', (spec, message) => {
    let error: unknown;
    try {
      loadConfig({ API_TOKENS: spec });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(message);
    expect(String((error as Error).message)).not.toMatch(/agent-token-123|xxxxxxxx/);
  });

  it('the agent’s name is in the metadata of the events they cause, and in the log lines of their requests', async () => {
    const log = logCapture();
    t = await startTestLedger({ API_TOKENS: TOKENS_WITH_AGENT, LOG_LEVEL: 'info' }, { logDestination: log });
    const placed = (await t.placeOrder({}, 'named-1')).json<{ orderId: string }>();
    const cancel = await t.app.inject({ method: 'POST', url: `/v1/orders/${placed.orderId}/cancel`, headers: bearer(AGENT_TOKEN) });
    expect(cancel.statusCode).toBe(200);

    const history = await t.app.inject({ method: 'GET', url: `/v1/orders/${placed.orderId}/history`, headers: bearer(TOKENS.admin) });
    const events = history.json<{ events: { type: string; metadata: { actor: Record<string, string> } }[] }>().events;
    expect(events.find((e) => e.type === 'OrderCancelled')?.metadata.actor).toEqual({
      role: 'customer-service',
      client: expect.stringMatching(/^customer-service\//),
      name: 'li.na',
    });
    // The follow-up it caused is the process's, not the agent's.
    expect(events.find((e) => e.type === 'PaymentVoided')?.metadata.actor).toEqual({ role: 'system', client: 'process' });
    // An unnamed token's events carry no name.
    expect(events.find((e) => e.type === 'OrderPlaced')?.metadata.actor).not.toHaveProperty('name');

    const logged = log.lines().map((l) => l as LogLine & { actor?: Record<string, string> });
    const completed = logged.filter((l) => l.msg === 'request completed' && l.actor?.name === 'li.na');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.actor).toMatchObject({ role: 'customer-service', name: 'li.na' });
    expect(log.text()).not.toContain(AGENT_TOKEN);
  });

  it('customer service may resend a code for a subscriber on the line, and the history says which agent did', async () => {
    t = await startTestLedger({ API_TOKENS: TOKENS_WITH_AGENT });
    const placed = (await t.placeOrder({}, 'named-resend')).json<{ paymentId: string; orderId: string }>();
    t.clock.advance(60);
    const resent = await t.app.inject({ method: 'POST', url: `/v1/payments/${placed.paymentId}/resend-code`, headers: bearer(AGENT_TOKEN) });
    expect(resent.statusCode).toBe(200);
    expect(resent.json()).toMatchObject({ paymentId: placed.paymentId, resendsLeft: 2 });
    const history = await t.app.inject({ method: 'GET', url: `/v1/orders/${placed.orderId}/history`, headers: bearer(TOKENS.admin) });
    const event = history
      .json<{ events: { type: string; metadata: { actor: Record<string, string> } }[] }>()
      .events.find((e) => e.type === 'PaymentCodeResent');
    expect(event?.metadata.actor).toMatchObject({ role: 'customer-service', name: 'li.na' });
  });

  it('the console learns who signed in and which routes the role may call, from the routes themselves', async () => {
    t = await startTestLedger({ API_TOKENS: TOKENS_WITH_AGENT });
    const agent = await t.app.inject({ method: 'GET', url: '/console/api/session', headers: bearer(AGENT_TOKEN) });
    expect(agent.statusCode).toBe(200);
    const who = agent.json<{ role: string; name: string | null; routes: string[] }>();
    expect(who).toMatchObject({ role: 'customer-service', name: 'li.na' });
    expect(who.routes).toEqual(
      expect.arrayContaining([
        'GET /v1/orders',
        'POST /v1/orders/:orderId/cancel',
        'POST /v1/orders/:orderId/reprovision',
        'POST /v1/payments/:paymentId/resend-code',
      ]),
    );
    expect(who.routes).not.toContain('GET /v1/finance/days');
    expect(who.routes).not.toContain('POST /v1/payments/:paymentId/confirm');

    const admin = (await t.app.inject({ method: 'GET', url: '/console/api/session', headers: bearer(TOKENS.admin) })).json<{
      name: string;
      routes: string[];
    }>();
    expect(admin.name).toBe('李娜');
    expect(admin.routes).toContain('GET /v1/finance/days');
    expect(admin.routes).not.toContain('POST /v1/orders/:orderId/reprovision');

    const unnamed = (await t.app.inject({ method: 'GET', url: '/console/api/session', headers: bearer(TOKENS.service) })).json<{ name: string | null }>();
    expect(unnamed.name).toBeNull();
    expect((await t.app.inject({ method: 'GET', url: '/console/api/session', headers: bearer(TOKENS.phone) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/console/api/session' })).statusCode).toBe(401);
  });
});

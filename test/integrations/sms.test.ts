import { afterEach, describe, expect, it } from 'vitest';
import { defaultCommonFaults } from '../../integrations/simulators/faults.ts';
import { createSmsSimulator, type SmsInspection } from '../../integrations/simulators/sms.ts';
import { createSmsClient } from '../../integrations/sms-client.ts';
import { simulatorServer } from '../support/simulator-server.ts';

const server = simulatorServer('sms');
const sms = () => server.sim;
/** The template fields every message carries besides its text. */
const tpl = (params: Record<string, string> = {}) => ({ templateId: 'TVPAY_TEST', signName: '有线电视', params });
const client = (timeoutMs = 2_000) => createSmsClient({ baseUrl: server.url, timeoutMs });
const inspect = async (query: string): Promise<SmsInspection> => (await (await fetch(`${server.url}/_sim/messages?${query}`)).json()) as SmsInspection;

afterEach(() => void sms().setFaults(defaultCommonFaults));

describe('SMS client against the simulator', () => {
  it('sends to a phone; a test reads the code back by msisdn (with or without +86)', async () => {
    await client().send({ messageId: 'm-1', to: { msisdn: '+8613800138001' }, ...tpl({ code: '482913' }), text: 'Sports 30 days, 30.00 CNY. Code 482913' });
    const { messages } = await inspect('msisdn=13800138001');
    expect(messages).toHaveLength(1);
    expect(/Code (\d{6})/.exec(messages[0]?.text ?? '')?.[1]).toBe('482913');
    expect((await inspect(`msisdn=${encodeURIComponent('+8613800138001')}`)).messages).toHaveLength(1);
  });

  it('sends to a TV by smartcardId', async () => {
    await client().send({ messageId: 'm-tv', to: { smartcardId: '8001234' }, ...tpl(), text: 'Paid: Sports 30 days' });
    expect((await inspect('smartcardId=8001234')).messages.map((m) => m.messageId)).toEqual(['m-tv']);
    expect((await inspect('msisdn=8001234')).messages).toEqual([]);
  });

  it('reads each recipient apart, in arrival order; no filter reads every message, and a phone with a card matches none', async () => {
    const sim = createSmsSimulator();
    const send = (messageId: string, to: { msisdn: string } | { smartcardId: string }) => sim.send({ messageId, to, ...tpl(), text: messageId });
    await send('a-1', { msisdn: '13800138010' });
    await send('card-1', { smartcardId: '8009999' });
    await send('b-1', { msisdn: '+8613800138011' });
    await send('a-2', { msisdn: '+8613800138010' });
    const ids = (filter?: { msisdn?: string; smartcardId?: string }) => sim.messages(filter).map((m) => m.messageId);
    expect(ids({ msisdn: '+8613800138010' })).toEqual(['a-1', 'a-2']);
    expect(ids({ msisdn: '13800138011' })).toEqual(['b-1']);
    expect(ids({ smartcardId: '8009999' })).toEqual(['card-1']);
    expect(ids()).toEqual(['a-1', 'card-1', 'b-1', 'a-2']);
    expect(ids({ msisdn: '13800138010', smartcardId: '8009999' })).toEqual([]);
    expect(ids({ msisdn: '13800138012' })).toEqual([]);
    sim.close();
  });

  it('with waitMs, a read of a phone with no message yet answers once its first message arrives', async () => {
    const reading = inspect('msisdn=13800138010&waitMs=30000');
    let answered = false;
    void reading.then(() => (answered = true));
    await client().send({ messageId: 'm-other', to: { msisdn: '13800138011' }, ...tpl(), text: 'not for that phone' });
    expect(answered).toBe(false);
    await client().send({ messageId: 'm-wait', to: { msisdn: '+8613800138010' }, ...tpl(), text: 'Code 246810' });
    expect((await reading).messages.map((m) => m.messageId)).toEqual(['m-wait']);
  });

  it('with waitMs, a read answers at once when a message is already there, and empty when none comes in time', async () => {
    await client().send({ messageId: 'm-there', to: { smartcardId: '8009999' }, ...tpl(), text: 'Paid' });
    expect((await inspect('smartcardId=8009999&waitMs=30000')).messages.map((m) => m.messageId)).toEqual(['m-there']);
    expect((await inspect('msisdn=13800138012&waitMs=20')).messages).toEqual([]);
  });

  it('a waitMs that is not an integer from 0 to 30000 is a 400', async () => {
    for (const bad of ['-1', '30001', 'soon', '1.5']) {
      const res = await fetch(`${server.url}/_sim/messages?msisdn=13800138013&waitMs=${bad}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/waitMs/);
    }
  });

  it('is idempotent by messageId: stored once, duplicates counted', async () => {
    const before = await inspect('');
    const m = { messageId: 'm-dup', to: { msisdn: '13800138002' }, ...tpl(), text: 'hello' };
    await client().send(m);
    await client().send(m);
    const after = await inspect('msisdn=13800138002');
    expect(after.messages).toHaveLength(1);
    expect(after.messages[0]?.duplicates).toBe(1);
    expect(after.duplicates - before.duplicates).toBe(1);
    expect(after.calls - before.calls).toBe(2);
  });

  it('5xx and timeouts are retryable; the error holds neither the phone number nor the text', async () => {
    sms().setFaults({ failNext: 1 });
    const err = await client()
      .send({ messageId: 'm-5xx', to: { msisdn: '13800138003' }, ...tpl({ code: '111111' }), text: 'Code 111111' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retryable', status: 503, system: 'sms' });
    expect(String(err)).not.toMatch(/13800138003|111111/);
    sms().setFaults({ latencyMs: 300 });
    await expect(client(30).send({ messageId: 'm-slow', to: { msisdn: '13800138003' }, ...tpl(), text: 'x' })).rejects.toMatchObject({
      kind: 'retryable',
      status: undefined,
    });
  });

  it('like a template platform, refuses a message without its template id or parameters (400), and stores the template with the text', async () => {
    const post = (body: unknown) => fetch(`${server.url}/messages`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ messageId: 'm-plain', to: { msisdn: '13800138009' }, text: 'x' })).status).toBe(400);
    expect((await post({ messageId: 'm-noparams', to: { msisdn: '13800138009' }, templateId: 'T', signName: '有线电视', text: 'x' })).status).toBe(400);
    await client().send({ messageId: 'm-tpl', to: { msisdn: '13800138009' }, ...tpl({ code: '123456' }), text: '【有线电视】验证码123456' });
    expect((await inspect('msisdn=13800138009')).messages).toEqual([
      expect.objectContaining({
        messageId: 'm-tpl',
        templateId: 'TVPAY_TEST',
        signName: '有线电视',
        params: { code: '123456' },
        text: '【有线电视】验证码123456',
      }),
    ]);
  });

  it('a malformed recipient is a 400', async () => {
    const res = await fetch(`${server.url}/messages`, { method: 'POST', body: JSON.stringify({ messageId: 'm-bad', to: { email: 'x' }, text: 'x' }) });
    expect(res.status).toBe(400);
  });
});

/**
 * A stop while a request is under way on a kept-alive connection (the platform's notifications, a load
 * balancer): the request is answered, the answer says `Connection: close` and the connection ends, so
 * the stop does not wait out the client's keep-alive (72 s) and miss its deadline.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { startTestLedger } from '../support/ledger-app.ts';

it('a request under way when the stop begins is answered with Connection: close, and the stop ends with its connection', async () => {
  const t = await startTestLedger({});
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true });
  try {
    const body = JSON.stringify(orderBody());
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/orders',
      agent,
      headers: {
        ...bearer(TOKENS.openPlatform),
        'idempotency-key': 'stop-under-way',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    // The headers arrive first: the request is under way, its body still to come, when the stop begins.
    const arrived = new Promise<void>((resolve) => t.app.server.once('request', () => resolve()));
    req.flushHeaders();
    await arrived;
    const stopped = t.close();
    req.end(body);
    const res = await answered;
    const socketClosed = new Promise<void>((resolve) => res.socket.once('close', () => resolve()));
    res.resume();
    expect(res.statusCode).toBe(201);
    expect(res.headers.connection).toBe('close');
    await socketClosed;
    await stopped;
  } finally {
    agent.destroy();
  }
});

/** The open platform's side of the order-result callbacks, on 127.0.0.1 (test code only). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = { headers: IncomingHttpHeaders; raw: string; body: Record<string, unknown>; answered: number };

/** The open platform's side: records every request, answers `failStatus` to the next `failures` ones, 204 after. */
export const startReceiver = async () => {
  const requests: Received[] = [];
  let failures = 0;
  let failStatus = 503;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const answered = failures > 0 ? failStatus : 204;
      if (failures > 0) failures--;
      requests.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown>, answered });
      res.statusCode = answered;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tvpay/callbacks`,
    requests,
    /** The delivered ones (answered 2xx). */
    delivered: () => requests.filter((r) => r.answered < 300),
    fail(next: number, status = 503) {
      failures = next;
      failStatus = status;
    },
    reset() {
      requests.length = 0;
      failures = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

export type CallbackReceiver = Awaited<ReturnType<typeof startReceiver>>;

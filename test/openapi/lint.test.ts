/**
 * The served OpenAPI document as an operator's platform team checks it: Spectral `spectral:oas` and
 * Redocly `recommended` find nothing, and the document says what the service does on the wire.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../app/project.ts';
import { startTestLedger } from '../support/ledger-app.ts';
import { redoclyFindings, spectralFindings, type Finding } from './linters.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test walks the generated document freely; a wrong step fails the test
type Json = Record<string, any>;

let doc: Json;

beforeAll(async () => {
  const t = await startTestLedger();
  try {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<Json>();
  } finally {
    await t.close();
  }
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operations = (d: Json): { path: string; method: string; op: Json }[] =>
  Object.entries(d.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => (item as Json)[m]).map((method) => ({ path, method, op: (item as Json)[method] as Json })),
  );
const operation = (id: string): Json => {
  const found = operations(doc).find((o) => o.op.operationId === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found.op;
};
const summary = (findings: Finding[]) => ({
  errors: findings.filter((f) => f.severity === 'error').length,
  warnings: findings.filter((f) => f.severity === 'warning').length,
});
const copy = (): Json => structuredClone(doc);

describe('the linters', () => {
  it('Spectral spectral:oas: 0 errors, 0 warnings', async () => {
    const findings = await spectralFindings(doc);
    expect(findings).toEqual([]);
    expect(summary(findings)).toEqual({ errors: 0, warnings: 0 });
  });

  it('Redocly recommended: 0 errors, 0 warnings', async () => {
    const findings = await redoclyFindings(doc);
    expect(findings).toEqual([]);
    expect(summary(findings)).toEqual({ errors: 0, warnings: 0 });
  });

  it('would catch an operation without an operationId, and a reference to no schema', async () => {
    const broken = copy();
    delete broken.paths['/v1/orders'].post.operationId;
    broken.paths['/v1/orders/{orderId}'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nothing' };
    const rules = (fs: Finding[]) => new Set(fs.map((f) => f.rule));
    const spectral = rules(await spectralFindings(broken));
    expect(spectral).toContain('operation-operationId');
    expect(spectral).toContain('invalid-ref');
    const redocly = rules(await redoclyFindings(broken));
    expect(redocly).toContain('operation-operationId');
    expect(redocly).toContain('no-unresolved-refs');
  });

  it('would catch an example that does not fit its schema', async () => {
    const broken = copy();
    broken.components.schemas.Money.example = { value: 'a lot', currency: 'CNY' };
    expect((await spectralFindings(broken)).map((f) => f.rule)).toContain('oas3-valid-schema-example');
  });
});

describe('the document', () => {
  it('has info.version from package.json, servers, and a description for every tag it uses', () => {
    expect(doc.info.version).toBe(packageVersion());
    expect(doc.servers.length).toBeGreaterThan(0);
    const described = new Map((doc.tags as Json[]).map((t) => [t.name, t.description]));
    for (const { op } of operations(doc)) for (const tag of op.tags as string[]) expect(described.get(tag), tag).toBeTruthy();
  });

  it('names every operation, each name once', () => {
    const ids = operations(doc).map((o) => o.op.operationId as string);
    expect(ids.length).toBeGreaterThanOrEqual(20);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['placeOrder', 'getOrder', 'confirmPayment', 'recordPaymentNotification', 'getReadiness']));
  });

  it('declares one bearer scheme per role, and each operation takes the roles of API.md', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin', 'customer-service', 'open-platform', 'phone-app']);
    const roles = (id: string) => (operation(id).security as Json[]).flatMap((s) => Object.keys(s)).sort();
    expect(roles('placeOrder')).toEqual(['open-platform']);
    expect(roles('getOrder')).toEqual(['customer-service', 'open-platform']);
    expect(roles('searchOrders')).toEqual(['customer-service']);
    expect(roles('confirmPayment')).toEqual(['phone-app']);
    expect(roles('resendCode')).toEqual(['customer-service', 'phone-app']);
    expect(roles('getOrderHistory')).toEqual(['admin', 'customer-service']);
    expect(roles('eraseSubscriber')).toEqual(['admin']);
    expect(roles('recordPaymentNotification')).toEqual([]);
    expect(roles('getLiveness')).toEqual([]);
    expect(doc.security).toBeUndefined();
  });

  it('documents every refusal as application/problem+json with the Problem schema, never as application/json', () => {
    for (const { path, method, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400 || (path === '/readyz' && status === '503')) continue;
        expect(Object.keys(response.content), `${method} ${path} ${status}`).toEqual(['application/problem+json']);
        expect(response.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
      }
    }
    expect(doc.components.schemas.Problem.required).toEqual(['type', 'title', 'status', 'detail']);
  });

  it('lists only the refusals each operation can give', () => {
    const statuses = (id: string) => Object.keys(operation(id).responses).sort();
    expect(statuses('placeOrder')).toEqual(['200', '201', '400', '401', '403', '409', '422', '429']);
    expect(statuses('confirmPayment')).toEqual(['200', '400', '401', '403', '404', '409', '422', '429']);
    expect(statuses('resendCode')).toEqual(['200', '400', '401', '403', '404', '409', '429']);
    expect(statuses('getOrder')).toEqual(['200', '400', '401', '403', '404', '429', '503']);
    // No input: nothing to refuse as invalid. Every route with roles may refuse failed authentication as 429.
    expect(statuses('listProducts')).toEqual(['200', '401', '403', '429']);
    expect(statuses('getConsoleSession')).toEqual(['200', '401', '403', '429']);
    expect(statuses('getTrialBalance')).toEqual(['200', '400', '401', '403', '429']);
    expect(statuses('recordPaymentNotification')).toEqual(['200', '400', '401', '404', '409']);
    expect(statuses('getLiveness')).toEqual(['200']);
    expect(statuses('getReadiness')).toEqual(['200', '503']);
  });

  it('documents the notification’s X-Platform-Signature, its 401 and 404, and its text/plain answer', () => {
    const op = operation('recordPaymentNotification');
    const signature = (op.parameters as Json[]).find((p) => p.in === 'header' && String(p.name).toLowerCase() === 'x-platform-signature');
    expect(signature?.required).toBe(true);
    expect(signature?.description).toMatch(/HMAC-SHA256/);
    expect(op.responses['200'].content['text/plain'].schema.enum).toEqual(['success']);
    expect(op.responses['401'].headers['WWW-Authenticate']).toBeUndefined();
  });

  it('documents /readyz’s 503 with the readiness body', () => {
    const res = operation('getReadiness').responses['503'];
    expect(JSON.stringify(res.content['application/json'].schema)).toContain('#/components/schemas/Readiness');
  });

  it('documents Idempotency-Key, Idempotent-Replayed, Retry-After and X-Request-Id', () => {
    const place = operation('placeOrder');
    expect((place.parameters as Json[]).find((p) => p.name === 'idempotency-key')?.required).toBe(true);
    for (const status of ['200', '201'])
      expect(place.responses[status].headers['Idempotent-Replayed']).toEqual({ $ref: '#/components/headers/IdempotentReplayed' });
    expect(operation('resendCode').responses['429'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
    expect(operation('getOrder').responses['503'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
    for (const { op } of operations(doc)) {
      expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/XRequestId' });
      for (const response of Object.values(op.responses as Json)) expect(response.headers['X-Request-Id']).toEqual({ $ref: '#/components/headers/XRequestId' });
    }
  });

  it('documents the open-platform callback on placeOrder, signed, with its payload schema', () => {
    const callbacks = operation('placeOrder').callbacks as Json;
    const [expression] = Object.values(callbacks.orderOutcome as Json) as Json[];
    const post = expression?.post as Json;
    expect(post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/OrderOutcomeCallback' });
    expect((post.parameters as Json[]).map((p) => p.name)).toEqual(['Idempotency-Key', 'X-Ledger-Signature']);
    const payload = doc.components.schemas.OrderOutcomeCallback;
    expect(payload.required).toEqual(['callbackId', 'orderId', 'paymentId', 'subscriberId', 'smartcardId', 'productId', 'status', 'at', 'amount']);
    expect(payload.properties.msisdn).toBeUndefined();
  });

  it('types orders, searches, provisioning and finance with named schemas, with examples and date-time instants', () => {
    const schemas = doc.components.schemas as Json;
    for (const name of ['Order', 'OrderPage', 'PlacedOrder', 'PaymentView', 'OutboundTask', 'FinanceDay', 'FinanceEntry', 'Entitlements', 'Money', 'Problem']) {
      expect(schemas[name], name).toBeDefined();
      if (name !== 'OrderPage') expect(schemas[name].example, `${name} example`).toBeDefined();
    }
    expect(operation('getOrder').responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Order' });
    expect(operation('searchOrders').responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/OrderPage' });
    expect(schemas.Order.properties.status.enum).toContain('provisioned');
    expect(schemas.Order.properties.placedAt.format).toBe('date-time');
    expect(schemas.PlacedOrder.properties.expiresAt.format).toBe('date-time');
    expect(schemas.OutboundTask.properties.createdAt.format).toBe('date-time');
    expect(schemas.PlaceOrderRequest.required).toEqual(['subscriberId', 'smartcardId', 'msisdn', 'productId', 'paymentMethod']);
  });
});

/**
 * A client generated from the served document with openapi-typescript: the short script in
 * test/openapi/client/client-check.ts type-checks against it, a script that misuses it does not,
 * and the script places and reads an order on a running service.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { waitUntil } from '../support/wait.ts';

const CLIENT = fileURLToPath(new URL('./client/client-check.ts', import.meta.url));

/** What the script exports, as this test uses it (the script itself is typed by the generated client). */
type Order = { orderId: string; status: string; placedAt: string; amount: { value: number; currency: string } };
type Client = {
  placeOrder(baseUrl: string, token: string, key: string): Promise<Order>;
  readOrder(baseUrl: string, token: string, orderId: string): Promise<Order | undefined>;
  summary(order: Order): string;
};

let t: TestLedger;
let dir: string;

beforeAll(async () => {
  t = await startTestLedger({}, { process: true });
  const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenAPI3>();
  dir = mkdtempSync(join(tmpdir(), 'tvpay-client-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'tvpay-api.ts'), astToString(await openapiTS(doc)));
});

afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** tsc with the project's options on one script next to the generated types: its error messages. */
const typeErrors = (source: string): string[] => {
  const file = join(dir, 'client-check.ts');
  writeFileSync(file, source);
  const configFile = ts.readConfigFile(fileURLToPath(new URL('../../tsconfig.json', import.meta.url)), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, fileURLToPath(new URL('../../', import.meta.url)));
  const program = ts.createProgram([file], { ...options, noEmit: true, typeRoots: [fileURLToPath(new URL('../../node_modules/@types', import.meta.url))] });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
};

/** The script as type-checked, next to the generated types (which it imports as types only). */
const script = async (): Promise<Client> => {
  const file = join(dir, 'client-run.ts');
  writeFileSync(file, readFileSync(CLIENT, 'utf8'));
  return import(pathToFileURL(file).href);
};

describe('a client generated with openapi-typescript', () => {
  it('type-checks the script that places and reads an order', () => {
    expect(typeErrors(readFileSync(CLIENT, 'utf8'))).toEqual([]);
  }, 60_000);

  it('refuses a script that sends a wrong body or reads a field the order does not have', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the client's own source text, template literals and all
    const wrong = readFileSync(CLIENT, 'utf8').replace("productId: 'sports-month'", 'productId: 42').replace('${order.amount.value}', '${order.amount.yuan}');
    const errors = typeErrors(wrong).join('\n');
    expect(errors).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(errors).toMatch(/Property 'yuan' does not exist/);
  }, 60_000);

  it('places an order and reads it back from the running service', async () => {
    const { placeOrder, readOrder, summary } = await script();
    const base = t.url ?? '';
    const placed = await placeOrder(base, TOKENS.openPlatform, 'client-key-1');
    expect(placed.status).toBe('awaiting_confirmation');
    const order = await waitUntil(() => readOrder(base, TOKENS.openPlatform, placed.orderId), 'the order in the read model');
    expect(summary(order)).toBe(`${placed.orderId} awaiting_confirmation ${placed.amount.value} CNY ${order.placedAt}`);
    expect(Date.parse(order.placedAt)).not.toBeNaN();
  });

  it('hears a refusal as the documented problem', async () => {
    const { readOrder } = await script();
    await expect(readOrder(t.url ?? '', TOKENS.phone, '3f6c1f0e-8d2a-4c57-9a51-2f1d0b7e9c44')).rejects.toThrow(/^403 urn:tvpay-ledger:problem:forbidden/);
  });
});

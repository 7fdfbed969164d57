/**
 * The OpenAPI document at /docs/json, generated from the routes and their zod schemas, with what the
 * routes cannot say through fastify's schema derived here, in one place:
 *
 * - security: one bearer scheme per role; an operation's security is its route's `config.roles`;
 * - refusals every route of a kind can give: 400 when it validates input, 401, 403 and 429 (failed
 *   authentication is limited per address) when it has roles; a route declares only its own (404, 409, 422, 429, 503) in its response schema;
 * - every refusal is `application/problem+json` with the named `Problem` schema; 429 and 503 carry
 *   `Retry-After`; every response carries `X-Request-Id`; a route taking `Idempotency-Key` answers a
 *   replay with `Idempotent-Replayed: true`;
 * - named component schemas from the zod schemas registered with `.meta({ id })` (http/schemas.ts),
 *   keeping only those the document uses;
 * - a route's callbacks (OpenAPI `callbacks`), given in its schema as `x-callbacks`.
 *
 * README.md, "OpenAPI", lists these extensions of the document.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { createJsonSchemaTransformObject, jsonSchemaTransform } from 'fastify-type-provider-zod';
import { ROLES, type Role } from './auth.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROLE_DESCRIPTION: Record<Role, string> = {
  'open-platform': 'The broadcaster’s business open platform, on behalf of the set-top box: a bearer token of role open-platform from API_TOKENS.',
  'phone-app': 'The subscriber’s phone: a bearer token of role phone-app from API_TOKENS.',
  'customer-service': 'A customer-service agent (also the console): a bearer token of role customer-service from API_TOKENS.',
  admin: 'An administrator or auditor: a bearer token of role admin from API_TOKENS.',
};

export const TAGS = [
  { name: 'catalog', description: 'The channel packages that can be bought.' },
  { name: 'orders', description: 'Orders placed on the set-top box and paid by phone (patent steps 1–2), and their history.' },
  { name: 'payments', description: 'The phone’s side of a payment: the one-time code, confirmation, decline; an admin resolves flagged amounts.' },
  { name: 'payment platform', description: 'Signed payment results from the mobile payment platform (patent step 4).' },
  { name: 'entitlements', description: 'Channels open on a smartcard, now or at an instant.' },
  { name: 'provisioning', description: 'Outbound work: BOSS entitlements, SMS, trades, refunds and callbacks, and re-sending an entitlement.' },
  { name: 'finance', description: 'Money per accounting day, the double-entry journal and the trial balance, in fen (admin).' },
  { name: 'subscribers', description: 'Erasure of a subscriber’s phone number (PIPL).' },
  { name: 'console', description: 'What the customer-service console at /console needs besides the API.' },
  { name: 'operations', description: 'Liveness, readiness and the Prometheus scrape: public, for machines.' },
  { name: 'development', description: 'Development only: absent in production and while partners are real.' },
] as const;

const PROBLEM_REF = '#/components/schemas/Problem';

const STATUS_TEXT: Record<string, string> = {
  '400': 'Invalid request: the problem’s `errors` name each field',
  '401': 'No valid credentials',
  '403': 'This token’s role may not call this operation',
  '404': 'Not found',
  '409': 'Conflict with the current state',
  '422': 'The request cannot be processed',
  '429': 'Too many requests: retry after `Retry-After` seconds',
  '500': 'Internal error: nothing was applied; safe to retry',
  '503': 'Not available yet: retry after `Retry-After` seconds',
};

const HEADERS: JsonObject = {
  XRequestId: {
    description: 'The request’s id, in every log line about it: the caller’s own `X-Request-Id` when it is 1–128 letters, digits or `._:-`, else a new UUID.',
    schema: { type: 'string', example: '0d9e7a4c-6c5b-4f0e-9a39-3f1b2c7d8e90' },
  },
  RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0, example: 1 } },
  IdempotentReplayed: {
    description: '`true` when this is the stored answer to an earlier request with the same `Idempotency-Key` and body; nothing new happened.',
    schema: { type: 'string', enum: ['true'] },
  },
  WwwAuthenticate: { description: 'The scheme to authenticate with.', schema: { type: 'string', example: 'Bearer' } },
};

const PARAMETERS: JsonObject = {
  XRequestId: {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'Your id for this request (1–128 letters, digits or `._:-`): kept in our logs and echoed in the response.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', example: 'stb-4411-req-0001' },
  },
};

/** The swagger options: document-wide parts, and the two transforms below. */
export const openApiOptions = (o: { version: string; servers: { url: string; description: string }[] }): FastifyDynamicSwaggerOptions => ({
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'tvpay-ledger',
      version: o.version,
      description:
        'Digital-TV channel packages ordered on the set-top box and paid by mobile phone (CN104967874A). ' +
        'Errors are RFC 9457 problem+json; money is integer fen with a currency; times are ISO 8601 UTC.',
      contact: { name: 'tvpay-ledger maintainers' },
      license: { name: 'Proprietary' },
    },
    servers: o.servers,
    tags: TAGS.map((t) => ({ ...t })),
    components: {
      securitySchemes: Object.fromEntries(ROLES.map((r) => [r, { type: 'http', scheme: 'bearer', description: ROLE_DESCRIPTION[r] }])),
    },
  },
  transform: routeTransform,
  transformObject: documentTransform,
});

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/** Per route: the zod schemas as JSON Schema, then its security and the refusals every route of its kind can give. */
const routeTransform = (input: TransformInput): ReturnType<typeof jsonSchemaTransform> => {
  const out = jsonSchemaTransform(input);
  const schema: Record<string, unknown> = { ...out.schema };
  if (schema.hide) return out;
  const roles = input.route.config?.roles;
  schema.security = roles ? roles.map((r) => ({ [r]: [] })) : [];
  const response: Record<string, unknown> = isObject(schema.response) ? { ...schema.response } : {};
  const problem = { $ref: PROBLEM_REF };
  const validates = ['body', 'querystring', 'params', 'headers'].some((k) => schema[k] !== undefined);
  if (validates) response['400'] ??= problem;
  if (roles) {
    response['401'] ??= problem;
    response['403'] ??= problem;
    // Failed authentication is limited per address (http/limits.ts): any route with roles may answer 429;
    // placement, confirm and resend have limits of their own too.
    response['429'] ??= problem;
  }
  schema.response = response;
  return { ...out, schema };
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const ref = (to: string): JsonObject => ({ $ref: to });

/** The whole document: component schemas, media types and headers of every response, callbacks, unused components out. */
const documentTransform: NonNullable<FastifyDynamicSwaggerOptions['transformObject']> = (input) => {
  const doc = createJsonSchemaTransformObject({})(input) as JsonObject;
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (isObject(op)) shapeOperation(op);
    }
  }
  const components = isObject(doc.components) ? doc.components : {};
  components.headers = HEADERS;
  components.parameters = PARAMETERS;
  components.schemas = usedSchemas(doc, isObject(components.schemas) ? components.schemas : {});
  doc.components = components;
  return requestFormsNamedPlainly(doc);
};

/**
 * A schema used only in requests is generated as `<id>Input`; when there is no response form `<id>`
 * to tell it from, it is named `<id>`.
 */
const requestFormsNamedPlainly = (doc: JsonObject): JsonObject => {
  const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  let text = JSON.stringify(doc);
  for (const name of Object.keys(schemas)) {
    const plain = name.replace(/Input$/, '');
    if (plain === name || plain in schemas) continue;
    text = text.replaceAll(`"#/components/schemas/${name}"`, `"#/components/schemas/${plain}"`);
  }
  const renamed = JSON.parse(text) as JsonObject;
  if (isObject(renamed.components) && isObject(renamed.components.schemas)) {
    renamed.components.schemas = Object.fromEntries(
      Object.entries(renamed.components.schemas).map(([name, schema]) => {
        const plain = name.replace(/Input$/, '');
        return [plain !== name && !(plain in schemas) ? plain : name, schema];
      }),
    );
  }
  return renamed;
};

/** A response whose body is the Problem schema: fastify-swagger gives it the route's media type, problem+json is what is sent. */
const isProblem = (response: JsonObject): boolean => {
  const content = isObject(response.content) ? Object.values(response.content) : [];
  return content.length > 0 && content.every((media) => isObject(media) && isObject(media.schema) && media.schema.$ref === PROBLEM_REF);
};

const shapeOperation = (op: JsonObject): void => {
  const parameters = Array.isArray(op.parameters) ? op.parameters : [];
  const idempotent = parameters.some((p) => isObject(p) && p.in === 'header' && typeof p.name === 'string' && p.name.toLowerCase() === 'idempotency-key');
  op.parameters = [...parameters, ref('#/components/parameters/XRequestId')];
  // A 401 from a route with roles asks for a bearer token; the notification's (a bad signature) does not.
  const bearer = Array.isArray(op.security) && op.security.length > 0;
  const responses = isObject(op.responses) ? op.responses : {};
  for (const [status, response] of Object.entries(responses)) {
    if (!isObject(response)) continue;
    const headers: JsonObject = { 'X-Request-Id': ref('#/components/headers/XRequestId') };
    if (isProblem(response)) {
      response.description = STATUS_TEXT[status] ?? 'Refused';
      response.content = { 'application/problem+json': { schema: ref(PROBLEM_REF) } };
    } else if (response.description === 'Default Response') {
      response.description = 'OK';
    }
    if (status === '429' || status === '503') headers['Retry-After'] = ref('#/components/headers/RetryAfter');
    if (status === '401' && bearer) headers['WWW-Authenticate'] = ref('#/components/headers/WwwAuthenticate');
    if (idempotent && (status === '200' || status === '201')) headers['Idempotent-Replayed'] = ref('#/components/headers/IdempotentReplayed');
    response.headers = headers;
  }
  const callbacks = op['x-callbacks'];
  if (callbacks !== undefined) {
    op.callbacks = callbacks;
    delete op['x-callbacks'];
  }
};

/** The component schemas the document refers to, directly or through another schema. */
const usedSchemas = (doc: JsonObject, schemas: JsonObject): JsonObject => {
  const PREFIX = '#/components/schemas/';
  const used = new Set<string>();
  const visit = (v: Json | undefined): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        if (k === '$ref' && typeof child === 'string' && child.startsWith(PREFIX)) {
          const name = child.slice(PREFIX.length);
          if (!used.has(name)) {
            used.add(name);
            visit(schemas[name]);
          }
        } else visit(child);
      }
    }
  };
  visit({ paths: doc.paths ?? null });
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
};

/** The demo's command line: where the service is, which tokens, which phone and product. */
import { EXIT_CODES_HELP, usageError, type OptionsConfig, type Values } from '../cli.ts';

export type DemoTokens = { openPlatform: string; phone: string; service: string; admin: string };

export type DemoArgs = {
  url: string;
  msisdn: string;
  productId: string;
  /** How long each wait (SMS, paid, provisioned) may take before the demo gives up. */
  timeoutMs: number;
  tokens: DemoTokens;
};

/** The documented dev tokens (README, "Walk through the flow with curl"). */
export const DEV_TOKENS: DemoTokens = {
  openPlatform: 'dev-open-platform-token',
  phone: 'dev-phone-app-token',
  service: 'dev-customer-service-token',
  admin: 'dev-admin-token',
};

export const USAGE = `npm run demo -- [options]   (node --import tsx scripts/demo.ts [options])

A narrated walk through the ordering flow (patent CN104967874A) against a running service.

  --url <url>                       the service (default http://127.0.0.1:3000)
  --msisdn <number>                 the demo phone (default 13800138000)
  --product <productId>             what to buy (default sports-month, else the first product)
  --timeout <seconds>               how long each wait may take (default 30)
  --token-open-platform <token>     tokens per role (default: the documented dev tokens)
  --token-phone-app <token>
  --token-customer-service <token>
  --token-admin <token>
  --json                            the narration on stderr; on stdout, what was bought and paid, as JSON
  --help

${EXIT_CODES_HELP}
Exit 0: the order ended provisioned; 1: the flow went otherwise (the reason on stderr);
69: the service cannot be reached.
`;

export const DEMO_OPTIONS = {
  url: { type: 'string', default: 'http://127.0.0.1:3000' },
  msisdn: { type: 'string', default: '13800138000' },
  product: { type: 'string', default: '' },
  timeout: { type: 'string', default: '30' },
  'token-open-platform': { type: 'string', default: DEV_TOKENS.openPlatform },
  'token-phone-app': { type: 'string', default: DEV_TOKENS.phone },
  'token-customer-service': { type: 'string', default: DEV_TOKENS.service },
  'token-admin': { type: 'string', default: DEV_TOKENS.admin },
} as const satisfies OptionsConfig;

/** The parsed options, checked: a bad URL or timeout is a usage error. */
export const demoArgs = (values: Values<typeof DEMO_OPTIONS>): DemoArgs => {
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw usageError(`--url is not a URL: ${values.url}`);
  }
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw usageError('--timeout must be a positive number of seconds');
  return {
    url: url.origin,
    msisdn: values.msisdn,
    productId: values.product,
    timeoutMs: Math.round(seconds * 1000),
    tokens: {
      openPlatform: values['token-open-platform'],
      phone: values['token-phone-app'],
      service: values['token-customer-service'],
      admin: values['token-admin'],
    },
  };
};

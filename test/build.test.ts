/**
 * The compiled build as the container runs it, tested without Docker.
 *
 * `tsc -p tsconfig.build.json` compiles into a directory laid out like the image's /app, copied by
 * the Dockerfile's own runtime-stage COPY lines (dist/ and node_modules from the build stage,
 * package.json, catalog.json and sms-templates.json from the context). The compiled simulators and the compiled
 * service then run from it with node alone, configured as docker-compose.yml configures them; the
 * Dockerfile's CMD and HEALTHCHECK are the commands run. The build is incremental in
 * node_modules/.cache (a clean clone compiles everything once, later runs only what changed).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../app/config.ts';
import { BOSS_TOKEN, PLATFORM_SECRET } from './e2e/../support/fixtures.ts';
import { REPO_ROOT, freePort, killAll, spawnProcess, tempDir, type Child } from './e2e/processes.ts';
import { freshOrderBody, waitForCode, waitForStatus } from './e2e/scenarios.ts';
import { ledgerApi } from './e2e/http.ts';
import { serviceEnv, serviceReady } from './e2e/service.ts';
import { simApi, simulatorUrls, type SimApi } from './e2e/simulators.ts';

const CACHE = join(REPO_ROOT, 'node_modules/.cache/tvpay-ledger-build');
/** The image's WORKDIR, /app. */
const APP = join(CACHE, 'app');

/* ---------------------------------------------------------------- the Dockerfile, read */

type Instruction = { op: string; args: string };
type Dockerfile = { runtime: Instruction[]; workdir: string; cmd: string[]; healthcheck: string[] };

const instructions = (text: string): Instruction[] =>
  text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });

const jsonArray = (text: string, what: string): string[] => {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${what}: not an exec-form array`);
  return parsed;
};

const readDockerfile = (): Dockerfile => {
  const all = instructions(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const runtime = all.slice(lastFrom + 1);
  const last = (op: string): string => {
    const found = runtime.filter((i) => i.op === op).at(-1);
    if (!found) throw new Error(`the runtime stage has no ${op}`);
    return found.args;
  };
  const healthcheck = /\bCMD\s+(\[.*\])\s*$/.exec(last('HEALTHCHECK'))?.[1];
  if (!healthcheck) throw new Error('HEALTHCHECK has no exec-form CMD');
  return { runtime, workdir: last('WORKDIR'), cmd: jsonArray(last('CMD'), 'CMD'), healthcheck: jsonArray(healthcheck, 'HEALTHCHECK') };
};

/* ---------------------------------------------------------------- the build, laid out */

const tsc = promisify(execFile);

/** Compiles into APP/dist and copies what the runtime stage copies; returns the runtime stage's COPY lines. */
const buildImageLayout = async (docker: Dockerfile): Promise<string[]> => {
  mkdirSync(APP, { recursive: true });
  // tsc trusts its build info: without the outputs it describes, start over.
  if (!existsSync(join(APP, 'dist'))) rmSync(join(CACHE, 'tsbuildinfo'), { force: true });
  await tsc(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(APP, 'dist'),
      '--incremental',
      '--tsBuildInfoFile',
      join(CACHE, 'tsbuildinfo'),
    ],
    { cwd: REPO_ROOT, timeout: 240_000 },
  );
  const copies: string[] = [];
  for (const { args } of docker.runtime.filter((i) => i.op === 'COPY')) {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
    if (dest === undefined) throw new Error(`COPY ${args}: no destination`);
    for (const source of sources.reverse()) {
      copies.push(from ? `${from}:${source}` : source);
      const target = resolve(APP, dest.endsWith('/') || sources.length > 1 ? join(dest, source) : dest);
      if (from && source === `${docker.workdir}/dist`) continue; // tsc wrote it in place
      rmSync(target, { recursive: true, force: true });
      if (!from) cpSync(join(REPO_ROOT, source), target, { recursive: true });
      // The build stage prunes to production dependencies; here node_modules also holds the dev ones
      // (the imports test below checks nothing compiled needs those).
      else if (source === `${docker.workdir}/node_modules`) symlinkSync(join(REPO_ROOT, 'node_modules'), target, 'dir');
      else throw new Error(`COPY --from=${from} ${source}: the test does not know how to make this`);
    }
  }
  return copies;
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

/* ---------------------------------------------------------------- the tests */

let docker: Dockerfile;
let copies: string[];

beforeAll(async () => {
  docker = readDockerfile();
  copies = await buildImageLayout(docker);
}, 300_000);

afterAll(async () => {
  await killAll();
});

describe('the compiled build', () => {
  it('the runtime stage copies the build, its dependencies, package.json, catalog.json and sms-templates.json; CMD and HEALTHCHECK run compiled files', () => {
    // Any other file the service reads at run time must be copied too: the service below runs from this layout.
    expect(copies).toEqual(expect.arrayContaining(['build:/app/dist', 'build:/app/node_modules', 'catalog.json', 'package.json', 'sms-templates.json']));
    expect(docker.cmd[0]).toBe('node');
    expect(docker.cmd.at(-1)).toBe('dist/scripts/start.js');
    expect(docker.healthcheck).toEqual(['node', 'dist/scripts/healthcheck.js']);
    for (const file of [docker.cmd.at(-1), docker.healthcheck.at(-1), 'dist/scripts/simulators.js']) {
      expect(existsSync(join(APP, file ?? '')), `${file} in the build`).toBe(true);
    }
    expect(readFileSync(join(APP, 'dist/scripts/start.js'), 'utf8')).toMatch(/from ['"]\.\.\/app\/config\.js['"]/);
  });

  it('everything compiled imports at run time is a node built-in or a production dependency (the image has no devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const wanted = new Map<string, string>();
    for (const file of filesUnder(join(APP, 'dist')).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(file, 'utf8');
      // Static imports and re-exports (the statement may span lines), side-effect imports, import().
      for (const m of text.matchAll(/^\s*(?:(?:import|export)\b[^;'"]*?\bfrom\s*|import\s*|.*?\bimport\s*\(\s*)(['"])([^'"]+)\1/gm)) {
        const spec = m[2] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
        wanted.set(name, relative(APP, file));
      }
    }
    expect(wanted.size).toBeGreaterThan(5);
    for (const [name, where] of wanted) expect(pkg.dependencies[name], `${name} (imported by ${where})`).toBeDefined();
  });
});

describe('docker-compose.yml', () => {
  type Service = { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string> };
  /** Compose's `${VAR:-default}` with nothing set: the default. */
  const defaults = (v: string): string => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  const compose = (): Record<string, Service> => {
    const doc = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
    return doc.services;
  };
  const option = (command: string[], name: string): string | undefined => command[command.indexOf(name) + 1];

  it('the ledger gets a valid production configuration, made only of variables the config reads', () => {
    const ledger = compose().ledger;
    const env = Object.fromEntries(Object.entries(ledger?.environment ?? {}).map(([k, v]) => [k, defaults(String(v))]));
    for (const name of Object.keys(env)) expect(CONFIG_VARIABLES, name).toContain(name);
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.eventstoreUrl).toMatch(/^esdb:\/\/eventstore:2113\b/);
    expect(config.mongodbUrl).toMatch(/^mongodb:\/\/mongodb:27017\/\w+\?replicaSet=rs0$/);
    expect(new URL(config.publicBaseUrl ?? '').host).toBe('ledger:3000');
  });

  it('its partners are the simulator containers, running the compiled scripts/simulators.js from the same image on the ports the ledger calls', () => {
    const services = compose();
    const ledger = services.ledger;
    expect(ledger?.build).toBe('.');
    const env = ledger?.environment ?? {};
    for (const [kind, variable] of [
      ['platform', 'PAYMENT_PLATFORM_URL'],
      ['boss', 'BOSS_URL'],
      ['sms', 'SMS_GATEWAY_URL'],
    ] as const) {
      const url = new URL(defaults(env[variable] ?? ''));
      const sim = services[url.hostname];
      const command = sim?.command ?? [];
      expect(sim?.image, `${kind}: the ledger's image`).toBe(ledger?.image);
      expect(sim?.build, `${kind}: built like the ledger (never pulled)`).toBe('.');
      expect(command.slice(0, 2)).toEqual(['node', 'dist/scripts/simulators.js']);
      expect(existsSync(join(APP, command[1] ?? ''))).toBe(true);
      expect(option(command, '--kind')).toBe(kind);
      expect(option(command, '--port')).toBe(url.port);
      expect(option(command, '--host')).toBe('0.0.0.0');
    }
    expect(defaults(services.platform?.environment?.PAYMENT_PLATFORM_SECRET ?? '')).toBe(defaults(env.PAYMENT_PLATFORM_SECRET ?? ''));
    expect(defaults(option(services.boss?.command ?? [], '--boss-token') ?? '')).toBe(defaults(env.BOSS_TOKEN ?? ''));
  });
});

describe('the compiled service and simulators, started as the image starts them', () => {
  let data: { path: string; remove(): void };
  let service: Child;
  let sim: SimApi;
  let url = '';
  const api = ledgerApi(() => url);
  const healthcheck = (env: Record<string, string>) => {
    const [command = 'node', ...args] = docker.healthcheck;
    return promisify(execFile)(command === 'node' ? process.execPath : command, args, {
      cwd: APP,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 20_000,
    }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
  };
  let env: Record<string, string> = {};

  beforeAll(async () => {
    data = tempDir('tvpay-build-');
    const simChild = spawnProcess(
      'compiled sims',
      process.execPath,
      ['dist/scripts/simulators.js', '--kind', 'all', '--port', '0', '--host', '127.0.0.1', '--secret', PLATFORM_SECRET, '--boss-token', BOSS_TOKEN],
      { env: {}, cwd: APP },
    );
    const sims = await simulatorUrls(simChild);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = serviceEnv({ dataDir: data.path, port, sims, env: { NODE_ENV: 'production', LOG_LEVEL: 'info' } });
    const [node, ...args] = docker.cmd;
    expect(node).toBe('node');
    // Started from another working directory: the service finds its files from dist/, not from the cwd.
    const script = args.map((a) => (a.endsWith('.js') ? join(APP, a) : a));
    service = spawnProcess('compiled service', process.execPath, script, { env, cwd: data.path });
    await serviceReady(service, url);
    sim = simApi(sims);
  }, 120_000);

  afterAll(() => {
    data?.remove();
  });

  it('serves the whole flow in production mode: an order is paid through the platform simulator and provisioned at BOSS', async () => {
    const body = freshOrderBody();
    const placed = await api.placeOrder(body, `build-${body.subscriberId}`);
    expect(placed.status).toBe(201);
    expect((await api.confirm(placed.body.paymentId, await waitForCode(sim, body.msisdn))).status).toBe(200);
    await waitForStatus(api, placed.body.orderId, 'provisioned');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^tvpay_build_info\{version="0\.1\.0",node="v\d+\.\d+\.\d+"\} 1$/m);
    expect(metrics).toMatch(/^tvpay_orders_total\{outcome="provisioned"\} 1$/m);
  });

  it('the HEALTHCHECK command exits 0 while the service is ready', async () => {
    expect(await healthcheck(env)).toBe(0);
  });

  it('SIGTERM: the service drains and exits 0 by itself, before the shutdown deadline forces exit 1; the HEALTHCHECK then exits 1', async () => {
    // The deadline path logs an error and exits 1; the grace here only bounds the test.
    const ended = await service.stop(40_000);
    expect(ended, service.output()).toEqual({ code: 0, signal: null });
    expect(service.output()).toContain('"msg":"stopped"');
    expect(service.output()).not.toContain('shutdown did not finish in time');
    expect(await healthcheck(env)).toBe(1);
  });
});

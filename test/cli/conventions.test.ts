/**
 * Every script in scripts/*.ts behaves the same (scripts/cli.ts; README, "Scripts"), run as an operator's
 * shell runs it: a child process with no environment but PATH, from an empty directory. `--help` prints
 * the usage on stdout and exits 0, touching no store and needing no variable; an unknown option exits 64;
 * an invalid configuration exits 78 with a one-line reason.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../app/project.ts';
import { EXIT_CODES_HELP } from '../../scripts/cli.ts';
import { runChild, type Ran } from '../support/run-script.ts';

/** Modules the scripts share: not scripts themselves. */
const LIBRARIES = ['cli.ts', 'log-store.ts', 'progress.ts'];

/**
 * What a script needs on its command line to get as far as reading the configuration; scripts not
 * listed read none (bench measures in temp dirs of its own, demo is an HTTP client of the service,
 * simulators take their one secret on the command line or from PAYMENT_PLATFORM_SECRET).
 */
const READS_CONFIG: Record<string, string[]> = {
  'audit.ts': [],
  'healthcheck.ts': [],
  'migrate.ts': [],
  'rebuild.ts': [],
  'reconcile.ts': ['--day', '2026-12-01'],
  'rewrap-keys.ts': [],
  'seal.ts': [],
  'start.ts': [],
  'trail.ts': ['--order', 'o-1'],
};
const NO_CONFIG = ['bench.ts', 'demo.ts', 'simulators.ts'];
/** Scripts that report no results, so take no --json (simulators prints its URLs as JSON always). */
const NO_JSON = ['simulators.ts', 'start.ts'];

const scripts = readdirSync(join(PROJECT_ROOT, 'scripts'))
  .filter((f) => f.endsWith('.ts') && !LIBRARIES.includes(f))
  .sort();

let cwd = '';
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'tvpay-cli-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The script as a child process in an empty directory, with PATH and `env` only. */
const run = (script: string, argv: string[], env: Record<string, string> = {}): Promise<Ran> => runChild(`scripts/${script}`, argv, env, { cwd });

/** Runs them all, a few at a time (a 2-core machine). */
const runAll = async (argvOf: (script: string) => [string[], Record<string, string>] | undefined): Promise<Map<string, Ran>> => {
  const results = new Map<string, Ran>();
  const queue = scripts.filter((s) => argvOf(s) !== undefined);
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        const [argv, env] = argvOf(s) ?? [[], {}];
        results.set(s, await run(s, argv, env));
      }
    }),
  );
  return results;
};

describe('every script', () => {
  it('is either a shared module or a script whose configuration needs are known here', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(11);
    expect([...Object.keys(READS_CONFIG), ...NO_CONFIG].sort()).toEqual(scripts);
    for (const s of scripts) expect(readFileSync(join(PROJECT_ROOT, 'scripts', s), 'utf8'), s).toMatch(/^runScript\(\w+, import\.meta\.url\);$/m);
  });

  it('--help: the usage with the exit codes on stdout, exit 0, no store, no variable, nothing written', { timeout: 180_000 }, async () => {
    const results = await runAll(() => [['--help'], {}]);
    for (const [script, r] of results) {
      expect({ script, code: r.code, stderr: r.stderr }).toEqual({ script, code: 0, stderr: '' });
      expect(r.stdout, script).toContain(EXIT_CODES_HELP);
      expect(r.stdout, script).toContain('--help');
      if (NO_JSON.includes(script)) expect(r.stdout, script).not.toContain('--json');
      else expect(r.stdout, script).toContain('--json');
    }
    expect(readdirSync(cwd)).toEqual([]); // no ./data, no events.db, no checkpoint
  });

  it('an unknown option: exit 64 with a one-line reason on stderr, nothing on stdout', { timeout: 180_000 }, async () => {
    const results = await runAll(() => [['--no-such-option'], {}]);
    for (const [script, r] of results) {
      expect({ script, code: r.code, stdout: r.stdout }).toEqual({ script, code: 64, stdout: '' });
      expect(r.stderr.trim().split('\n'), script).toHaveLength(1);
      expect(r.stderr, script).toMatch(/Unknown option '--no-such-option' \(see --help\)/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('production without its secrets: exit 78 with the configuration problem on one line, nothing opened', { timeout: 180_000 }, async () => {
    const results = await runAll((s) => (READS_CONFIG[s] ? [READS_CONFIG[s], { NODE_ENV: 'production' }] : undefined));
    expect([...results.keys()].sort()).toEqual(Object.keys(READS_CONFIG));
    for (const [script, r] of results) {
      expect({ script, code: r.code, stdout: r.stdout }).toEqual({ script, code: 78, stdout: '' });
      expect(r.stderr.trim().split('\n'), script).toHaveLength(1);
      expect(r.stderr, script).toMatch(/^[\w-]+: configuration: production needs API_TOKENS, PAYMENT_PLATFORM_SECRET, CODE_SECRET, DATA_KEY_SECRET\n$/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an operand where a script takes none is a usage error too', async () => {
    const r = await run('audit.ts', ['everything']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^audit: Unexpected argument 'everything'/);
  });
});

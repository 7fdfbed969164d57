/**
 * Runs a script (scripts/cli.ts) the two ways an operator's shell would see it: in this process with
 * its output captured (fast), or as a child process (to see the exit code the shell gets).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execute, type OptionsConfig, type Script } from '../../scripts/cli.ts';

export type Ran = { code: number | null; stdout: string; stderr: string };

/** The script's own environment only: nothing of this process's leaks in. */
export const runInProcess = async <T extends OptionsConfig>(script: Script<T>, argv: string[], env: Record<string, string>): Promise<Ran> => {
  let stdout = '';
  let stderr = '';
  const code = await execute(script, argv, {
    env: { NODE_ENV: 'test', ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  return { code, stdout, stderr };
};

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader by its path, so a script runs from any working directory. */
const TSX = createRequire(import.meta.url).resolve('tsx');

/**
 * `file` (relative to the project root) as a child process. By default from the project root with
 * this process's environment (minus the stores and partners) and NODE_ENV=test; `bare`: from `cwd`,
 * with PATH and `env` only, as a clean shell would run it.
 */
export const runChild = (file: string, argv: string[], env: Record<string, string>, bare?: { cwd: string }): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const { PAYMENT_PLATFORM_URL: _u, EVENTSTORE_URL: _e, DATA_DIR: _d, MONGODB_URL: _m, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, file), ...argv], {
      cwd: bare?.cwd ?? ROOT,
      env: bare ? { PATH: process.env.PATH ?? '', ...env } : { ...inherited, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

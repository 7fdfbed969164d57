/**
 * Real child processes for the end-to-end tests (the service, the simulators, the CLIs), on
 * 127.0.0.1. Every child is registered and killed by `killAll()` (call it in afterAll/afterEach),
 * and — as a last resort — when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** A child process with the tail of its output kept for failure messages. */
export type Child = {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** The last lines of stdout and stderr. */
  output(): string;
  /** SIGKILL now, resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const live = new Set<Child>();

// Last resort (a crashed worker, a forgotten afterAll): never leave a child behind.
process.once('exit', () => {
  for (const c of live) if (!c.hasExited()) c.proc.kill('SIGKILL');
});

const MAX_OUTPUT_LINES = 200;

export function spawnChild(name: string, args: string[], env: Record<string, string>): Child {
  return spawnProcess(name, process.execPath, args, { env });
}

/**
 * Any command as a registered child (killed by killAll): `node …` with another working directory
 * (the compiled build), `npm start`. The environment is clean: what `env` sets, plus PATH and HOME.
 */
/** Runs one of the repo's scripts (`scripts/<name>.ts`) as a child process with `env`; registered like every child. */
export const startScript = (name: string, args: string[], env: Record<string, string>): Child =>
  spawnChild(name, ['--import', 'tsx', `scripts/${name}.ts`, ...args], env);

export function spawnProcess(name: string, command: string, args: string[], opts: { env: Record<string, string>; cwd?: string }): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    // A clean environment: only what the scenario sets, plus what node itself needs.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NODE_ENV: 'test', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(`[${name} ${stream}] ${line}`);
      if (lines.length > MAX_OUTPUT_LINES) lines.shift();
    }
  };
  proc.stdout?.on('data', keep('out'));
  proc.stderr?.on('data', keep('err'));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolveExit({ code, signal });
    });
    proc.once('error', (err) => {
      lines.push(`[${name}] spawn error: ${err.message}`);
      done = true;
      live.delete(child);
      resolveExit({ code: null, signal: null });
    });
  });
  const child: Child = {
    name,
    proc,
    exited,
    hasExited: () => done,
    output: () => lines.join('\n'),
    kill: async () => {
      if (!done) proc.kill('SIGKILL');
      await exited;
    },
    stop: async (graceMs = 5_000) => {
      if (done) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  live.add(child);
  return child;
}

const cleanups = new Set<() => Promise<void>>();

/** Something else to close with the children (a stand-in server the service ran on). */
export const registerCleanup = (fn: () => Promise<void>): void => {
  cleanups.add(fn);
};

/** SIGKILLs every child still running, then the registered cleanups. For afterAll/afterEach: also runs when a test failed. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.all(pending.map((fn) => fn()));
}

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port'))));
    });
  });
}

export function tempDir(prefix = 'tvpay-e2e-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

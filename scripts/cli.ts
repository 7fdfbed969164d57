/**
 * What every script shares: argument parsing (node:util parseArgs), `--help`, the exit codes,
 * progress on stderr.
 *
 * Exit codes (sysexits): a script exits
 *   0  ok: it ran and found nothing wrong
 *   1  findings: it ran and found problems (violations, discrepancies)
 *   64 usage: bad arguments
 *   69 unavailable: it could not run (a store, the platform, a file it needs is not there)
 *   70 internal error: a bug (an exception nobody expected)
 *   78 configuration: the environment is invalid
 * so "found problems" (1) is never confused with "could not run" (64, 69, 70, 78).
 *
 * Invariants: `--help` prints the usage and exits 0 before anything is opened; reports go to
 * stdout, progress and errors to stderr; progress is drawn only when stderr is a terminal.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { ConfigError } from '../app/config.ts';

export const EXIT = { ok: 0, findings: 1, usage: 64, unavailable: 69, internal: 70, config: 78 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with its exit code and a one-line reason for the operator. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(EXIT.usage, message);
export const unavailable = (message: string): CliError => new CliError(EXIT.unavailable, message);

/** What the exit codes mean, for every script's --help. */
export const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 findings, 64 usage, 69 unavailable (could not run), 70 internal error, 78 configuration.`;

/** Options every script takes. */
const COMMON = {
  help: { type: 'boolean', short: 'h', default: false },
  json: { type: 'boolean', default: false },
} as const satisfies OptionsConfig;

type Value<O> = O extends { type: 'boolean' } ? (O extends { multiple: true } ? boolean[] : boolean) : O extends { multiple: true } ? string[] : string;

/** The parsed options: an option with a default is always there, one without may be undefined. */
export type Values<T extends OptionsConfig> = { [K in keyof T]: Value<T[K]> | (T[K] extends { default: unknown } ? never : undefined) } & {
  help: boolean;
  json: boolean;
};

/** Parses argv strictly (unknown options and stray positionals are usage errors). */
export const parseOptions = <T extends OptionsConfig>(options: T, argv: readonly string[]): Values<T> => {
  const config: ParseArgsConfig = { args: [...argv], options: { ...COMMON, ...options }, strict: true, allowPositionals: false };
  try {
    // parseArgs checks every value against `options`, which is what Values<T> describes.
    return parseArgs(config).values as Values<T>;
  } catch (err) {
    throw usageError(`${err instanceof Error ? err.message : String(err)} (see --help)`);
  }
};

/** Where a script reads its environment and writes: the process, or a test's buffers. */
export type Io = {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  /** Progress and errors; progress is drawn only when it is a terminal. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
};

export const processIo: Io = { env: process.env, stdout: process.stdout, stderr: process.stderr };

export type Script<T extends OptionsConfig> = {
  name: string;
  /** The whole --help text, with EXIT_CODES_HELP at the end. */
  usage: string;
  options: T;
  /** Runs with the parsed options; returns EXIT.ok or EXIT.findings (or throws a CliError). */
  main: (values: Values<T>, io: Io) => Promise<number>;
};

/** Types a script from its options (the identity, for inference). */
export const defineScript = <T extends OptionsConfig>(script: Script<T>): Script<T> => script;

const exitCodeOf = (err: unknown): ExitCode =>
  err instanceof CliError ? err.code : err instanceof ConfigError ? EXIT.config : EXIT.internal;

/** Parses, answers --help, runs; the exit code the outcome means. Never throws: a failure is one line on stderr. */
export const execute = async <T extends OptionsConfig>(script: Script<T>, argv: readonly string[], io: Io = processIo): Promise<number> => {
  try {
    const values = parseOptions(script.options, argv);
    if (values.help) {
      io.stdout.write(script.usage.endsWith('\n') ? script.usage : `${script.usage}\n`);
      return EXIT.ok;
    }
    return await script.main(values, io);
  } catch (err) {
    const code = exitCodeOf(err);
    const prefix = code === EXIT.config ? 'configuration: ' : code === EXIT.internal ? 'internal error: ' : '';
    io.stderr.write(`${script.name}: ${prefix}${err instanceof Error ? err.message : String(err)}\n`);
    return code;
  }
};

/** True when the module with this import.meta.url is the one node was asked to run. */
export const isEntryPoint = (moduleUrl: string): boolean => {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === moduleUrl;
  } catch {
    return false;
  }
};

/** Runs the script and exits with its code, when its module is the entry point (tests import it instead). */
export const runScript = <T extends OptionsConfig>(script: Script<T>, moduleUrl: string): void => {
  if (!isEntryPoint(moduleUrl)) return;
  void execute(script, process.argv.slice(2)).then((code) => process.exit(code));
};

/** Runs a script's main: its exit code, or 1 with a one-line reason (no stack) on failure. For scripts not yet on runScript. */
export const runCli = (name: string, main: () => Promise<number>): void => {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`\n${name}: ${err instanceof ConfigError ? 'configuration: ' : ''}${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};

export type Progress = {
  /** Reports `done` items so far (of `total` when known). Throttled; a no-op off a terminal. */
  update(done: number, total?: number): void;
  /** Clears the progress line. */
  end(): void;
};

const NO_PROGRESS: Progress = { update: () => undefined, end: () => undefined };

/** A progress line on stderr, redrawn at most every 100 ms, only when stderr is a terminal. */
export const progress = (label: string, stream: Io['stderr'] = process.stderr, unit = 'events'): Progress => {
  if (!stream.isTTY) return NO_PROGRESS;
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update: (done, total) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const rate = Math.round(done / Math.max(0.001, (now - started) / 1000));
      const width = 24;
      const bar = total ? `[${'#'.repeat(Math.round((Math.min(done, total) / total) * width)).padEnd(width, '.')}] ` : '';
      stream.write(`\r${label}: ${bar}${done}${total ? `/${total}` : ''} ${unit} (${rate}/s)\x1b[K`);
      drawn = true;
    },
    end: () => {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
};

/** Prints a report: JSON (one document, newline-terminated) or the text the formatter makes. */
export const printReport = <R>(io: Io, report: R, json: boolean, text: (r: R) => string): void => {
  io.stdout.write(json ? `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : text(report));
};

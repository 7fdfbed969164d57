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
 *   78 configuration: the environment is invalid (or a file it names: the catalog, the SMS templates)
 *   130 interrupted: stopped by Ctrl-C / SIGTERM before it finished (migrate: run it again to resume)
 * so "found problems" (1) is never confused with "could not run" (64, 69, 70, 78).
 * README.md, "Scripts", has the same table; test/cli/conventions.test.ts holds every script to it.
 *
 * Invariants: `--help` prints the usage and exits 0 before anything is opened or the environment is
 * read; reports go to stdout (JSON with --json), progress and errors to stderr; progress is drawn only
 * when stderr is a terminal (scripts/progress.ts).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../app/config.ts';

export { progress, type Progress } from './progress.ts';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export const EXIT = { ok: 0, findings: 1, usage: 64, unavailable: 69, internal: 70, config: 78, interrupted: 130 } as const;
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

/** An option's whole number of at least `min`, or a usage error naming the option. */
export const wholeNumber = (option: string, value: string, min: number): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw usageError(`--${option}: a whole number, at least ${min}`);
  return n;
};

/** What the exit codes mean, for every script's --help. */
export const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 findings, 64 usage, 69 unavailable (could not run), 70 internal error, 78 configuration.`;

/** Options every script takes; `--json` only those that report results. */
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const satisfies OptionsConfig;
const JSON_OPTION = { json: { type: 'boolean', default: false } } as const satisfies OptionsConfig;

type Value<O> = O extends { type: 'boolean' } ? (O extends { multiple: true } ? boolean[] : boolean) : O extends { multiple: true } ? string[] : string;

/** The parsed options: an option with a default is always there, one without may be undefined. */
export type Values<T extends OptionsConfig> = { [K in keyof T]: Value<T[K]> | (T[K] extends { default: unknown } ? never : undefined) } & {
  help: boolean;
  json: boolean;
};

export type Parsed<T extends OptionsConfig> = { values: Values<T>; positionals: string[] };

/** Parses argv strictly: unknown options, and operands where the script takes none, are usage errors. */
export const parseOptions = <T extends OptionsConfig>(
  options: T,
  argv: readonly string[],
  takes: { positionals?: boolean; json?: boolean } = {},
): Parsed<T> => {
  const json = takes.json !== false;
  const config: ParseArgsConfig = {
    args: [...argv],
    options: { ...HELP, ...(json && JSON_OPTION), ...options },
    strict: true,
    allowPositionals: takes.positionals === true,
  };
  try {
    const parsed = parseArgs(config);
    // parseArgs checks every value against `options`, which is what Values<T> describes.
    return { values: { json: false, ...parsed.values } as Values<T>, positionals: parsed.positionals };
  } catch (err) {
    // Node's advice on operands that start with '-' is for scripts that take them; the option is what matters.
    const message = (err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional argument starting with .*$/s, '');
    throw usageError(`${message} (see --help)`);
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
  /** Takes operands after the options (rebuild's read models, bench's names); otherwise one is a usage error. */
  positionals?: true;
  /** False for a script that reports no results (start): it has no --json. */
  json?: false;
  /** Runs with the parsed options; returns EXIT.ok or EXIT.findings (or throws a CliError). */
  main: (values: Values<T>, io: Io, positionals: string[]) => Promise<number>;
};

/** Types a script from its options (the identity, for inference). */
export const defineScript = <T extends OptionsConfig>(script: Script<T>): Script<T> => script;

const exitCodeOf = (err: unknown): ExitCode => (err instanceof CliError ? err.code : err instanceof ConfigError ? EXIT.config : EXIT.internal);

/** Parses, answers --help, runs; the exit code the outcome means. Never throws: a failure is one line on stderr. */
export const execute = async <T extends OptionsConfig>(script: Script<T>, argv: readonly string[], io: Io = processIo): Promise<number> => {
  try {
    const { values, positionals } = parseOptions(script.options, argv, {
      ...(script.positionals && { positionals: true }),
      ...(script.json === false && { json: false }),
    });
    if (values.help) {
      io.stdout.write(script.usage.endsWith('\n') ? script.usage : `${script.usage}\n`);
      return EXIT.ok;
    }
    return await script.main(values, io, positionals);
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

/** Prints a report: JSON (one document, newline-terminated) or the text the formatter makes. */
export const printReport = <R>(io: Io, report: R, json: boolean, text: (r: R) => string): void => {
  io.stdout.write(json ? `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : text(report));
};

// The celeriac command's flags as tables (flag, short letter, env var, help) and the pure converter
// argv + env -> values, plus the --help text built from the same rows. No I/O here.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** How a flag's value is read. `bool` takes no value; the rest take one (`list` may repeat). */
export type FlagKind = 'string' | 'bool' | 'list';

/** One flag of a command. */
export interface FlagSpec {
  /** The long name: `broker` for --broker. */
  readonly flag: string;
  /** A one-letter alias: `A` for -A. */
  readonly short?: string;
  /** The environment variable read when the flag is not given. */
  readonly env?: string;
  readonly kind: FlagKind;
  readonly metavar?: string;
  /** The default as --help shows it ('' = none shown). */
  readonly default?: string;
  readonly help: string;
}

/** One sub-command: its name, what it does, its positional arguments and its flags. */
export interface CommandSpec {
  readonly name: string;
  /** One line for the overall --help. */
  readonly summary: string;
  /** Positional arguments as the usage line shows them: '<task-name>'. */
  readonly positionals: string;
  /** Paragraphs under the usage line. */
  readonly description: readonly string[];
  readonly flags: readonly FlagSpec[];
  readonly examples?: readonly string[];
}

/** A mistake in what was typed: the command prints it with a usage hint and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Values after parsing: a flag's own value, else its env var, else absent. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** `--help` was given. */
  readonly help: boolean;
  /** The string value of a flag (or its env var); undefined when neither is set. */
  string(flag: string): { raw: string; source: string } | undefined;
  /** A boolean flag (or its env var as true/false words). */
  bool(flag: string): boolean;
  /** A list flag: repeated and comma-separated values together (or its env var split at commas). */
  list(flag: string): string[];
}

/** Flags every command takes; the app and broker may also come before the command name. */
export const COMMON_FLAGS = [
  { flag: 'app', short: 'A', env: 'CELERIAC_APP', kind: 'string', metavar: 'MODULE', help: 'the app: a path (./tasks.js) or package whose default or `app` export is the Celeriac app' },
  { flag: 'broker', short: 'b', env: 'CELERIAC_BROKER', kind: 'string', metavar: 'URL', default: "the app's broker, else ws://127.0.0.1:5680", help: "broker URL; overrides the app's broker setting" },
  { flag: 'loglevel', short: 'l', env: 'CELERIAC_LOGLEVEL', kind: 'string', metavar: 'LEVEL', default: 'warn (worker, beat: info)', help: 'debug, info, warn or error; debug also prints stacks of errors' },
  { flag: 'help', short: 'h', kind: 'bool', help: 'print this text and exit' },
] as const satisfies readonly FlagSpec[];

/** Flags that take a value among the common ones (to find the command name after them). */
const COMMON_VALUE_TOKENS: ReadonlySet<string> = new Set(
  (COMMON_FLAGS as readonly FlagSpec[]).filter((f) => f.kind !== 'bool').flatMap((f) => [`--${f.flag}`, ...(f.short === undefined ? [] : [`-${f.short}`])]),
);

/**
 * Splits `celeriac [common flags] <command> [args]` at the command name. Returns the command
 * (undefined when none was typed) and every other token, in order, for the command's parser.
 */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') break;
    if (COMMON_VALUE_TOKENS.has(tok)) {
      i++;
      continue;
    }
    if (!tok.startsWith('-')) return { command: tok, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: [...argv] };
}

const TRUE_WORDS: ReadonlySet<string> = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['0', 'false', 'no', 'off', '']);

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Parses a command's tokens against its flags (and the common ones) and the environment.
 * @throws UsageError for an unknown flag, a missing value or a bad env boolean.
 */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParsedArgs {
  const flags: readonly FlagSpec[] = [...COMMON_FLAGS, ...spec.flags];
  const options: ParseArgsConfig['options'] = Object.fromEntries(flags.map((f) => [f.flag, {
    type: f.kind === 'bool' ? 'boolean' as const : 'string' as const,
    ...(f.kind === 'list' ? { multiple: true } : {}),
    ...(f.short === undefined ? {} : { short: f.short }),
  }]));
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    // node:util parseArgs throws TypeErrors coded ERR_PARSE_ARGS_* for unknown flags and missing values.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
    throw err;
  }
  const byName = new Map(flags.map((f) => [f.flag, f]));
  const specOf = (flag: string): FlagSpec => {
    const f = byName.get(flag);
    // A programming error: a command asked for a flag its table does not have.
    if (f === undefined) throw new Error(`celeriac ${spec.name} has no flag --${flag}`);
    return f;
  };
  const envOf = (f: FlagSpec): string | undefined => (f.env === undefined ? undefined : env[f.env]);
  return {
    positionals: parsed.positionals,
    help: parsed.values['help'] === true,
    string(flag) {
      const f = specOf(flag);
      const v = parsed.values[flag];
      if (typeof v === 'string') return { raw: v, source: `--${flag}` };
      const e = envOf(f);
      return e === undefined || e === '' ? undefined : { raw: e, source: f.env! };
    },
    bool(flag) {
      const f = specOf(flag);
      if (parsed.values[flag] === true) return true;
      const e = envOf(f);
      if (e === undefined) return false;
      const w = e.trim().toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      throw new UsageError(`${f.env} expects true or false, got '${e}'`);
    },
    list(flag) {
      const f = specOf(flag);
      const v = parsed.values[flag];
      if (Array.isArray(v) && v.length > 0) return v.flatMap((x) => splitList(String(x)));
      const e = envOf(f);
      return e === undefined ? [] : splitList(e);
    },
  };
}

// ---- value converters: each names the flag (or env var) a bad value came from

const TIME_UNITS: Readonly<Record<string, number>> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** A number with an optional unit suffix from `units`, scaled by it; `what` names the expected form. */
function parseScaled(v: { raw: string; source: string }, units: Readonly<Record<string, number>>, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v.raw);
  const unit = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${v.source} expects ${what}, got '${v.raw}'`);
  return Math.round(Number(m[1]) * unit);
}

/** A duration in ms: '500', '500ms', '2s', '1.5m', '1h'. */
export function parseDuration(v: { raw: string; source: string }): number {
  return parseScaled(v, TIME_UNITS, 'a duration in ms (or with an s, m or h suffix)');
}

/** A size in bytes: '512m', '1g', '1048576'. */
export function parseSize(v: { raw: string; source: string }): number {
  return parseScaled(v, SIZE_UNITS, 'a size in bytes (k, m or g suffix allowed)');
}

/** A whole number within [min, max]. */
export function parseInteger(v: { raw: string; source: string }, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = v.raw.trim();
  if (!/^-?\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    throw new UsageError(`${v.source} expects a whole number${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` from ${min} to ${max}`}, got '${v.raw}'`);
  }
  return Number(t);
}

/** One of a fixed set of words. */
export function parseChoice<const C extends string>(v: { raw: string; source: string }, choices: readonly C[]): C {
  const t = v.raw.trim() as C;
  if (!choices.includes(t)) throw new UsageError(`${v.source} expects ${choices.join(', ')}; got '${v.raw}'`);
  return t;
}

/** JSON text; `what` says which shape is expected ('a JSON array'), `check` tests the shape. */
export function parseJson<T>(v: { raw: string; source: string }, what: string, check: (x: unknown) => x is T): T {
  let value: unknown;
  try {
    value = JSON.parse(v.raw);
  } catch (err) {
    throw new UsageError(`${v.source} is not valid JSON (${(err as Error).message}): ${v.raw}`);
  }
  if (!check(value)) throw new UsageError(`${v.source} must be ${what}, got ${v.raw}`);
  return value;
}

// ---- help text

const COLUMN = 34;

function flagRows(flags: readonly FlagSpec[]): string[] {
  return flags.map((f) => {
    const names = `${f.short === undefined ? '    ' : `-${f.short}, `}--${f.flag}${f.metavar === undefined ? '' : ` ${f.metavar}`}`;
    const left = `  ${names}`;
    const extra = [f.env === undefined ? '' : `env ${f.env}`, f.default ? `default: ${f.default}` : ''].filter(Boolean).join('; ');
    const head = left.length >= COLUMN ? `${left}\n${' '.repeat(COLUMN)}` : left.padEnd(COLUMN);
    return `${head}${f.help}${extra ? `\n${' '.repeat(COLUMN)}(${extra})` : ''}`;
  });
}

/** `celeriac <command> --help`: usage line, description, the command's flags, the common flags. */
export function commandUsage(spec: CommandSpec): string {
  return [
    `Usage: celeriac ${spec.name} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    ...spec.description,
    '',
    ...(spec.flags.length > 0 ? ['Options:', ...flagRows(spec.flags), ''] : []),
    'Common options:',
    ...flagRows(COMMON_FLAGS),
    '',
    ...(spec.examples !== undefined && spec.examples.length > 0 ? ['Examples:', ...spec.examples.map((e) => `  ${e}`), ''] : []),
  ].join('\n');
}

/** `celeriac --help`: the commands and the common flags. */
export function overallUsage(commands: readonly CommandSpec[]): string {
  return [
    'Usage: celeriac [-A MODULE] [-b URL] <command> [options]',
    '',
    'Runs workers and talks to a celeriac broker the way the `celery` command does.',
    'Every option with an env var can be set by it; a flag wins over the variable.',
    'Durations are in ms unless given a suffix (2s, 1m); exit codes: 0 ok, 1 failed, 2 bad usage.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)}${c.summary}`),
    '',
    'Common options:',
    ...flagRows([...COMMON_FLAGS, { flag: 'version', kind: 'bool', help: 'print the version and exit' }]),
    '',
    'Run `celeriac <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

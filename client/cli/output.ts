// What the celeriac command writes: log lines at a level (stderr), JSON for results and replies
// (stdout), and the worker's start-up banner. Formatting only; the commands decide what to say.
import type { LogLevel, WorkerLog } from '../worker/worker.js';
import { UsageError } from './args.js';

/** Where a command writes; tests of the formatting pass their own. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** err() writes to a terminal: progress lines are drawn there only. Absent = not a terminal. */
  readonly errIsTerminal?: boolean;
  /** The width of that terminal, when known. */
  readonly errColumns?: number | undefined;
}

/** stdout and stderr of this process. */
export const processOutput: Output = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
  get errIsTerminal() { return process.stderr.isTTY === true; },
  get errColumns() { return process.stderr.isTTY === true ? process.stderr.columns : undefined; },
};

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** Celery's and Python logging's names for the same levels. */
const ALIASES: Readonly<Record<string, LogLevel>> = { warning: 'warn', critical: 'error', fatal: 'error' };

/** A log level as typed (any case; Celery's WARNING/CRITICAL accepted). */
export function parseLogLevel(v: { raw: string; source: string }): LogLevel {
  const t = v.raw.trim().toLowerCase();
  const level = (LEVELS as readonly string[]).includes(t) ? (t as LogLevel) : ALIASES[t];
  if (level === undefined) throw new UsageError(`${v.source} expects debug, info, warn or error; got '${v.raw}'`);
  return level;
}

/** True when a line at `level` shows at the chosen `threshold`. */
export function shows(level: LogLevel, threshold: LogLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold);
}

/** A worker log writing `[time: LEVEL] message` lines to stderr at `threshold` and above. */
export function makeLogger(threshold: LogLevel, output: Output = processOutput): WorkerLog {
  return (level, message) => {
    if (!shows(level, threshold)) return;
    output.err(`[${new Date().toISOString()}: ${level.toUpperCase()}] ${message}\n`);
  };
}

/** JSON for the terminal: pretty-printed, with values JSON cannot hold written so they still show. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return { type: 'Buffer', base64: Buffer.from(v).toString('base64') };
    if (v === undefined) return null;
    return v;
  }, indent) ?? 'null';
}

/** A value in one line, cut to `max` characters (worker log lines). */
export function shortRepr(value: unknown, max = 200): string {
  let text: string;
  try {
    text = toJson(value, 0);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

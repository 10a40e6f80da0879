// How broker-server writes a log record: a plain line (the default, for people) or one JSON
// object per line (--log-format json, for log shippers). Pure, so tests check lines without a process.
import type { LogLevel } from '../broker.js';
import type { LogFormat } from './parse-args.js';

/** One thing to log: the broker's own lines carry no fields; the command's add a few. */
export interface LogRecord {
  level: LogLevel;
  /** One line already: the broker escapes what its messages quote from clients. */
  msg: string;
  fields?: Readonly<Record<string, string | number | boolean>>;
}

/** The keys every JSON line starts with; a field of the same name cannot replace them. */
const CORE_KEYS: ReadonlySet<string> = new Set(['time', 'level', 'msg']);

/**
 * The line (without its newline) for `record`. text: info as the bare message (stdout), warnings
 * and errors as `broker-server: LEVEL: msg` (stderr); fields are for json only, the text message
 * already says them. json: `{"time":ISO-8601,"level":...,"msg":...,...fields}`.
 */
export function formatLogLine(format: LogFormat, record: LogRecord, time: Date): string {
  if (format === 'text') return record.level === 'info' ? record.msg : `broker-server: ${record.level}: ${record.msg}`;
  const line: Record<string, unknown> = { time: time.toISOString(), level: record.level, msg: record.msg };
  for (const [k, v] of Object.entries(record.fields ?? {})) if (!CORE_KEYS.has(k)) line[k] = v;
  return JSON.stringify(line);
}

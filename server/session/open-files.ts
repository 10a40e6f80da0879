// The process's open-file limit, which bounds how many sockets the broker can hold: the default
// connection cap stays under it, so a flood of connections cannot leave none for the data file.
import { readFileSync } from 'node:fs';

/**
 * Descriptors kept back for the data file, its WAL, the fsync thread, logs, the listener and the
 * refused connections that linger to read their 503 (MAX_LINGERING_REFUSALS in connection-guard.ts).
 */
const RESERVED_FILES = 64;

/** Connections in total when no cap is configured, on a machine with files to spare. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/**
 * The soft RLIMIT_NOFILE as Linux reports it (node raises it to the hard limit at start), or
 * undefined where /proc/self/limits does not exist or says "unlimited".
 */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+)/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** The default total cap: DEFAULT_MAX_CONNECTIONS, or fewer when the open-file limit is lower. */
export function defaultMaxConnections(fileLimit: number | undefined = openFileLimit()): number {
  if (fileLimit === undefined) return DEFAULT_MAX_CONNECTIONS;
  const usable = fileLimit > 2 * RESERVED_FILES ? fileLimit - RESERVED_FILES : Math.floor(fileLimit / 2);
  return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, usable));
}

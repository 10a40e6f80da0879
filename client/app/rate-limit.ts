// Celery's rate-limit notation ('10/s', '100/m', '5/h', or a plain number per second), parsed once.
// Shared by the taskDefaultRateLimit setting and the per-task rateLimit option.
import { invalid } from './setting-parsers.js';

/** A rate limit as written by the user: `'10/s'`, `'100/m'`, `'5/h'`, or tasks per second. */
export type RateLimit = string | number;

/** A parsed rate limit: at most `count` task starts per `intervalMs`; count 0 = no limit. */
export interface ParsedRateLimit {
  readonly count: number;
  readonly intervalMs: number;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
const NOTATION = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/;

/**
 * Parses a rate limit as Celery does (`rate()` in celery/utils/time.py): `'N/s'`, `'N/m'`,
 * `'N/h'`, a bare `'N'` or number meaning per second; 0 disables the limit. Throws
 * ERR_INVALID_ARGUMENT naming `label`.
 */
export function parseRateLimit(value: unknown, label: string): ParsedRateLimit {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(label, "a rate such as '10/s', '100/m', '5/h' or a number per second >= 0", value);
    return { count: value, intervalMs: 1_000 };
  }
  const m = typeof value === 'string' ? NOTATION.exec(value) : null;
  if (m === null) throw invalid(label, "a rate such as '10/s', '100/m', '5/h' or a number per second >= 0", value);
  const unit = (m[2] ?? 's') as keyof typeof UNIT_MS;
  return { count: Number(m[1]), intervalMs: UNIT_MS[unit] };
}

/** The inverse of parseRateLimit: '10/s', '100/m', '5/h', else starts per second ('0' = no limit). */
export function formatRateLimit(rate: ParsedRateLimit): string {
  const unit = (Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[]).find((u) => UNIT_MS[u] === rate.intervalMs);
  if (rate.count === 0) return '0';
  return unit === undefined ? String((rate.count * 1_000) / rate.intervalMs) : `${rate.count}/${unit}`;
}

/** Parser form for the settings table: checks the notation, keeps what the user wrote. */
export function rateLimit(value: unknown, label: string): RateLimit {
  parseRateLimit(value, label);
  return value as RateLimit;
}

// The coded error every beat check throws (ERR_INVALID_ARGUMENT), and the unknown-key check.
// Each message leads with the path of the bad value (`beatSchedule['tick'].schedule`), so the entry is always named.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import { describe } from '../../app/setting-parsers.js';
import { closest } from '../../app/suggest.js';

/** `${path} must be ${expected}; got <value>` (plus `why`, e.g. the cron library's reason), as ERR_INVALID_ARGUMENT. */
export function refuse(path: string, expected: string, value: unknown, why?: string): CeleriacError {
  const reason = why === undefined ? '' : ` (${why})`;
  return fail('ERR_INVALID_ARGUMENT', `${path} must be ${expected}; got ${describe(value)}${reason}`, { path });
}

/** Refuses the first key of `obj` outside `allowed`, suggesting the closest known one. */
export function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const near = closest(key, allowed);
    const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
    throw fail('ERR_INVALID_ARGUMENT', `${path}.${key} is not a known field${hint}; known fields: ${allowed.join(', ')}`, { path: `${path}.${key}` });
  }
}

/** True for `{...}` literals and null-prototype objects. */
export { isPlainObject } from '../../app/setting-parsers.js';

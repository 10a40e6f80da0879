// IANA time zone names, checked the way croner will use them: through Intl.
import { refuse } from './refuse.js';

/** A zone name the runtime knows ('UTC', 'Europe/Paris'); refused otherwise. */
export function checkTimeZone(value: unknown, path: string): string {
  const expected = "an IANA time zone name such as 'UTC' or 'Europe/Paris'";
  if (typeof value !== 'string' || value.length === 0) throw refuse(path, expected, value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw refuse(path, expected, value);
  }
  return value;
}

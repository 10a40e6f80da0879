// Assertions the app tests share (settings, Celery config): not a test file itself (*-helpers.ts).
import type { Test } from 'tap';
import { CeleriacError } from '../../shared/errors.js';

/** Asserts fn throws ERR_INVALID_ARGUMENT whose message matches every pattern. */
export function throwsInvalid(t: Test, fn: () => unknown, ...patterns: RegExp[]): void {
  try {
    fn();
    t.fail(`expected a throw matching ${patterns.join(', ')}`);
  } catch (err) {
    t.type(err, CeleriacError);
    t.equal((err as CeleriacError).code, 'ERR_INVALID_ARGUMENT');
    for (const p of patterns) t.match((err as Error).message, p);
  }
}

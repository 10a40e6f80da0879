// Helpers the message tests share: not a test file itself (*-helpers.ts).
import { CeleriacError } from '../../shared/errors.js';

/** The CeleriacError fn throws, or undefined when it returns; any other error is rethrown. */
export function errorOf(fn: () => unknown): CeleriacError | undefined {
  try { fn(); } catch (err) { if (err instanceof CeleriacError) return err; throw err; }
  return undefined;
}

// Checks and normalizes wire signatures (callbacks, errbacks, chain steps, chord callback), both
// those a user hands to buildTaskMessage() and those read from a message.
import { fail } from '../errors.js';
import type { Signature } from './types.js';

/** A plain object (not null, not an array, not a Date/bytes): a JSON/msgpack map. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Reads one signature: `task` must be a non-empty string; absent or null args/kwargs/options
 * become []/{}/{}, absent subtask_type null, absent immutable false (Celery's defaults). Any
 * wrong type throws ERR_INVALID_ARGUMENT naming `where` (e.g. "embed.callbacks[0]").
 */
export function readSignature(value: unknown, where: string): Signature {
  if (!isPlainObject(value)) throw fail('ERR_INVALID_ARGUMENT', `${where} must be a signature object, got ${describe(value)}`);
  const { task, args, kwargs, options, subtask_type: subtaskType, immutable } = value;
  if (typeof task !== 'string' || task === '') throw fail('ERR_INVALID_ARGUMENT', `${where}.task must be a non-empty string, got ${describe(task)}`);
  if (args != null && !Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', `${where}.args must be an array, got ${describe(args)}`);
  if (kwargs != null && !isPlainObject(kwargs)) throw fail('ERR_INVALID_ARGUMENT', `${where}.kwargs must be an object, got ${describe(kwargs)}`);
  if (options != null && !isPlainObject(options)) throw fail('ERR_INVALID_ARGUMENT', `${where}.options must be an object, got ${describe(options)}`);
  if (subtaskType != null && typeof subtaskType !== 'string') throw fail('ERR_INVALID_ARGUMENT', `${where}.subtask_type must be a string or null, got ${describe(subtaskType)}`);
  if (immutable != null && typeof immutable !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `${where}.immutable must be a boolean, got ${describe(immutable)}`);
  const sig: Signature = {
    task,
    args: (args as unknown[] | null | undefined) ?? [],
    kwargs: (kwargs as Record<string, unknown> | null | undefined) ?? {},
    options: (options as Record<string, unknown> | null | undefined) ?? {},
    subtask_type: (subtaskType as string | null | undefined) ?? null,
    immutable: (immutable as boolean | null | undefined) ?? false,
  };
  if ('chord_size' in value) {
    const size = value.chord_size;
    if (size !== null && !Number.isInteger(size)) throw fail('ERR_INVALID_ARGUMENT', `${where}.chord_size must be an integer or null, got ${describe(size)}`);
    sig.chord_size = size as number | null;
  }
  return sig;
}

/** Reads a list of signatures; null/undefined is an empty list. */
export function readSignatures(value: unknown, where: string): Signature[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw fail('ERR_INVALID_ARGUMENT', `${where} must be an array of signatures or null, got ${describe(value)}`);
  return value.map((v, i) => readSignature(v, `${where}[${i}]`));
}

/** A short description of a value's type for error messages: 'null', 'an array', 'a string'. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  const t = typeof v;
  return t === 'object' ? 'an object' : `a${/^[aeiou]/.test(t) ? 'n' : ''} ${t}`;
}

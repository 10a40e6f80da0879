// The one check of what a serializer can carry: walks a value (task arguments, a result) and
// names the first place the chosen serializer would refuse or silently change, with its path.
import { CeleriacError } from '../errors.js';
import type { SerializerName } from './serializers.js';

/** Where a value cannot be encoded faithfully, and why. */
export interface Unencodable {
  /** The path from the root's name: `result.items[2].x`, `args[1]`, `kwargs["a-b"]`. */
  path: string;
  /** What is there, finishing "`path` is ...": `NaN`, `a BigInt`, `circular`, `a Map`, ... */
  problem: string;
  /** Why it cannot travel, or what to send instead. */
  hint: string;
}

/** Where the value sits, for the path and for msgpack's depth limit. */
export interface EncodableOptions {
  /** The root's name in the path (default `value`). */
  root?: string;
  /**
   * The value's nesting depth in the document the serializer encodes (1 = the document itself;
   * a task's args are at 2, inside the body array). Only msgpack has a depth limit.
   */
  depth?: number;
  /**
   * Filled in by the walk when given: whether the value holds something the JSON serializer writes
   * through its replacer (a Uint8Array, a Date, an object with toJSON). A value that passed with
   * `markers` false is written by JSON.stringify alone exactly as by the serializer (see
   * json-serializer.ts encodePlainJson), so the caller may skip the replacer's call per value.
   */
  report?: EncodableReport;
}

/** What a walk saw besides problems (see EncodableOptions.report). */
export interface EncodableReport {
  markers: boolean;
}

/** @msgpack/msgpack's Encoder refuses any value deeper than this (its default maxDepth; the document is depth 1). */
export const MSGPACK_MAX_DEPTH = 100;

/** A problem found at some depth; `segments` collect from the value up to the root. */
interface Found {
  segments: string[];
  problem: string;
  hint: string;
}

interface Walk {
  json: boolean;
  maxDepth: number;
  /** The objects between the root and the value being walked (a repeat among them is a cycle). */
  ancestors: object[];
  /** Set when a value needs the JSON serializer's replacer (see EncodableOptions.report). */
  markers: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The first value inside `value` that `serializer` cannot represent faithfully, or undefined
 * when the whole value can travel. Both serializers (see json-serializer.ts, msgpack-serializer.ts)
 * are held to the same rules, except where they truly differ:
 * - NaN, Infinity and -Infinity: refused for `json` (JSON has no such numbers; JSON.stringify would
 *   write null), carried by `msgpack` (float64);
 * - a BigInt: refused by both (JSON has none; the msgpack serializer refuses it rather than
 *   guess between int64 and a lossy float);
 * - a circular reference (an object inside itself): refused; the same object twice in
 *   different places is fine (it travels as two copies);
 * - a function or a symbol: refused. JSON would silently drop it (or write null in an array) and
 *   msgpack throws, so it is refused by both, and a value passes or fails the same either way;
 * - a Map or a Set, an invalid Date, typed arrays other than Uint8Array (Buffer is one) and
 *   ArrayBuffer: refused (JSON refuses them; msgpack would write `{}`, raw bytes or a garbage time);
 * - for `msgpack`, anything nested deeper than MSGPACK_MAX_DEPTH levels in the encoded document;
 * - for `json`, an object with a toJSON() method is not looked into: its toJSON() decides what
 *   JSON gets (and the JSON serializer still refuses what that returns, without a path).
 * Carried as the serializers always do, so not reported: `undefined` (a member is dropped, an
 * array item becomes null), -0 (becomes 0), and other class instances (their own enumerable
 * properties travel, the prototype does not: an Error or a RegExp arrives as `{}`).
 * A value nested too deeply to walk (the stack runs out) is reported at the root.
 */
export function findUnencodable(value: unknown, serializer: SerializerName, options: EncodableOptions = {}): Unencodable | undefined {
  const root = options.root ?? 'value';
  const walk: Walk = { json: serializer === 'json', maxDepth: serializer === 'msgpack' ? MSGPACK_MAX_DEPTH : Infinity, ancestors: [], markers: false };
  let found: Found | undefined;
  try {
    found = check(value, options.depth ?? 1, walk);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { path: root, problem: 'nested too deeply to encode', hint: 'the stack ran out while walking it' };
  }
  if (options.report !== undefined) options.report.markers = walk.markers;
  if (found === undefined) return undefined;
  return { path: root + found.segments.reverse().join(''), problem: found.problem, hint: found.hint };
}

/**
 * The ERR_ENCODE error (class EncodeError, Celery's name) for a value of `subject` ("the result of
 * task add[<id>]") that `serializer` cannot encode: `cannot encode the result of task add[<id>] as
 * json: result.items[2].x is NaN (JSON has no NaN or Infinity ...)`.
 */
export function encodeError(subject: string, serializer: SerializerName, found: Unencodable, details: Record<string, unknown> = {}): CeleriacError {
  return new CeleriacError('ERR_ENCODE', `cannot encode ${subject} as ${serializer}: ${found.path} is ${found.problem} (${found.hint})`, {
    details: { ...details, serializer, path: found.path },
  });
}

/** A serializer's own refusal at an encode site, turned into ERR_ENCODE naming `subject` (no path known). */
export function encodeFailure(subject: string, serializer: SerializerName, err: unknown, details: Record<string, unknown> = {}): CeleriacError {
  const reason = err instanceof Error ? err.message : String(err);
  return new CeleriacError('ERR_ENCODE', `cannot encode ${subject} as ${serializer}: ${reason}`, { cause: err, details: { ...details, serializer } });
}

/** 'Int16Array' → 'an Int16Array'. */
function article(name: string): string {
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

function problem(problem: string, hint: string): Found {
  return { segments: [], problem, hint };
}

function check(v: unknown, depth: number, w: Walk): Found | undefined {
  // msgpack checks the depth of every value, leaves (even null) included.
  if (depth > w.maxDepth) return problem(`nested deeper than ${w.maxDepth} levels`, "msgpack's limit; flatten it");
  // The common kinds first: this runs for every value of every message and result.
  const type = typeof v;
  if (type === 'object') return v === null ? undefined : checkObject(v as object, depth, w);
  if (type === 'string' || type === 'boolean' || type === 'undefined') return undefined;
  if (type === 'number') {
    if (w.json && !Number.isFinite(v)) return problem(String(v), 'JSON has no NaN or Infinity; send null, a string, or use msgpack');
    return undefined;
  }
  if (type === 'bigint') return problem('a BigInt', 'send it as a string or a number');
  if (type === 'function') return problem('a function', 'functions do not travel in messages');
  return problem('a symbol', 'symbols do not travel in messages');
}

function checkObject(o: object, depth: number, w: Walk): Found | undefined {
  if (!Array.isArray(o)) {
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      // Not a plain object: a kind a serializer treats apart, or a class instance.
      if (o instanceof Uint8Array) {
        w.markers = true;
        return undefined;
      }
      if (o instanceof Date) {
        w.markers = true;
        return Number.isNaN(o.getTime()) ? problem('an invalid Date', 'it has no time to send') : undefined;
      }
      if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return problem(article(o.constructor.name), 'only a Uint8Array (or Buffer) travels as bytes');
      if (o instanceof Map || o instanceof Set) return problem(`a ${o instanceof Map ? 'Map' : 'Set'}`, 'convert it to an object or an array');
    }
    if (w.json && typeof (o as { toJSON?: unknown }).toJSON === 'function') {
      w.markers = true;
      return undefined;
    }
  }
  // Ancestors are few (the nesting depth): a scan of an array beats a Set's hashing here.
  if (w.ancestors.includes(o)) return problem('circular', 'it contains itself');
  w.ancestors.push(o);
  const found = Array.isArray(o) ? checkArray(o, depth, w) : checkMembers(o as Record<string, unknown>, depth, w);
  w.ancestors.pop();
  return found;
}

function checkArray(a: readonly unknown[], depth: number, w: Walk): Found | undefined {
  for (let i = 0; i < a.length; i++) {
    const found = check(a[i], depth + 1, w);
    if (found !== undefined) {
      found.segments.push(`[${i}]`);
      return found;
    }
  }
  return undefined;
}

function checkMembers(o: Record<string, unknown>, depth: number, w: Walk): Found | undefined {
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = o[key];
    // Both serializers drop an undefined member without looking at it.
    if (item === undefined) continue;
    const found = check(item, depth + 1, w);
    if (found !== undefined) {
      found.segments.push(IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      return found;
    }
  }
  return undefined;
}

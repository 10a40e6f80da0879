// Value parsers the settings table is built from: each checks one value and returns it normalized.
// Every error is ERR_INVALID_ARGUMENT and names the setting (the label) it was found under.
import { fail, type CeleriacError } from '../../shared/errors.js';
import { COMPRESSION_METHODS, type CompressionMethod } from '../../shared/messages/compression.js';
import { SERIALIZER_NAMES, type SerializerName } from '../../shared/messages/serializers.js';
import { isPlainObject } from '../../shared/messages/signature.js';
import { parseBrokerUrl } from '../url.js';
import { brokerUrls, checkBrokerScheme, masked, transportOf } from './backend-schemes.js';

/** What a parser may need from another setting: beatSchedule reads ISO times without an offset in `timezone`. */
export interface ParseContext {
  readonly timezone: string;
}

/**
 * Checks `value` found under `label` (a setting name, or a path inside one such as
 * `taskQueues[1].routingKey`) and returns it normalized. Invariant: a parser accepts its own
 * output, so a resolved value can be given again as input.
 */
export type Parser<T> = (value: unknown, label: string, context?: ParseContext) => T;

/** The coded error for a bad value; `label` leads the message so the key is always named. */
export function invalid(label: string, expected: string, value: unknown): CeleriacError {
  const setting = /^[^.[]+/.exec(label)?.[0] ?? label;
  return fail('ERR_INVALID_ARGUMENT', `setting ${label} must be ${expected}; got ${describe(value)}`, { setting, path: label });
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return value.length > 60 ? `'${value.slice(0, 57)}...'` : `'${value}'`;
    case 'number': case 'boolean': case 'bigint': return String(value);
    case 'undefined': return 'undefined';
    case 'function': return 'a function';
    default: return 'an object';
  }
}

/** True for `{...}` literals and null-prototype objects (the messages layer's check, shared). */
export { isPlainObject };

/** Lets null through (a nullable setting: "none", "no limit"), else applies `inner`. */
export function nullable<T>(inner: Parser<T>): Parser<T | null> {
  return (value, label) => (value === null ? null : inner(value, label));
}

export const bool: Parser<boolean> = (value, label) => {
  if (typeof value !== 'boolean') throw invalid(label, 'true or false', value);
  return value;
};

/** A non-empty string of at most `max` characters. */
export function text(max = 255): Parser<string> {
  return (value, label) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(label, `a non-empty string of at most ${max} characters`, value);
    return value;
  };
}

/** An AMQP-style name (exchange, queue, routing key): a string of at most 255 bytes, may be empty if allowed. */
export function name(allowEmpty = false): Parser<string> {
  return (value, label) => {
    if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || Buffer.byteLength(value) > 255) {
      throw invalid(label, `a ${allowEmpty ? '' : 'non-empty '}string of at most 255 bytes`, value);
    }
    return value;
  };
}

/** An integer in [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (value, label) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(label, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
    }
    return value;
  };
}

/** A duration in milliseconds, finite and >= min (fractions allowed: Celery's seconds are floats). */
export function duration(min: number): Parser<number> {
  return (value, label) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > Number.MAX_SAFE_INTEGER) {
      throw invalid(label, `a number of milliseconds >= ${min}`, value);
    }
    return value;
  };
}

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly string[]>(choices: T): Parser<T[number]> {
  return (value, label) => {
    if (typeof value !== 'string' || !choices.includes(value)) throw invalid(label, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
    return value as T[number];
  };
}

/** A broker URL: ws:// or wss:// as connect() accepts it, or amqp:// / amqps:// (RabbitMQ). */
export const brokerUrl: Parser<string> = (value, label) => {
  if (typeof value !== 'string') throw invalid(label, 'a ws://, wss://, amqp:// or amqps:// URL', value);
  checkBrokerScheme(value, label);
  const urls = brokerUrls(value);
  if (urls.length > 1 && !urls.every((u) => transportOf(u) === 'amqp')) {
    throw invalid(label, "one URL, or amqp:// / amqps:// URLs separated by ';' (failover: only the AMQP transport takes a list)", masked(value));
  }
  try {
    if (transportOf(value) === 'amqp') for (const u of urls) new URL(u);
    else parseBrokerUrl(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw fail('ERR_INVALID_ARGUMENT', `setting ${label}: ${reason}`, { setting: label, path: label });
  }
  return value;
};

/** A time zone name the runtime knows (IANA, e.g. 'Europe/Paris', or 'UTC'). */
export const timeZone: Parser<string> = (value, label) => {
  if (typeof value !== 'string' || value.length === 0) throw invalid(label, 'an IANA time zone name', value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw invalid(label, 'an IANA time zone name such as \'UTC\' or \'Europe/Paris\'', value);
  }
  return value;
};

/** Serializer names, from the serializer registry; MIME types Celery also accepts map to them. */
export const SERIALIZERS = SERIALIZER_NAMES;
export type { SerializerName };
const SERIALIZER_ALIASES: Readonly<Record<string, SerializerName>> = {
  json: 'json', 'application/json': 'json',
  msgpack: 'msgpack', 'application/x-msgpack': 'msgpack', 'application/msgpack': 'msgpack',
};

export const serializer: Parser<SerializerName> = (value, label) => {
  const found = typeof value === 'string' ? SERIALIZER_ALIASES[value] : undefined;
  if (found === undefined) throw invalid(label, `one of 'json', 'msgpack'`, value);
  return found;
};

/** A non-empty whitelist of serializers, duplicates removed, MIME types mapped to names. */
export const contentList: Parser<readonly SerializerName[]> = (value, label) => {
  if (!Array.isArray(value) || value.length === 0) throw invalid(label, `a non-empty array of 'json' / 'msgpack'`, value);
  const out: SerializerName[] = [];
  value.forEach((v, i) => {
    const s = serializer(v, `${label}[${i}]`);
    if (!out.includes(s)) out.push(s);
  });
  return out;
};

/** Compression names (zlib = deflate with zlib header, gzip, brotli). */
export const COMPRESSIONS = COMPRESSION_METHODS;
export type CompressionName = CompressionMethod;

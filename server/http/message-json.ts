// Messages in the management API's JSON, as RabbitMQ's publish and get write them: AMQP property
// names (delivery_mode, correlation_id...) and a payload that is a string or base64.
import { fail } from '../../shared/errors.js';
import type { MessageProperties } from '../../shared/frames.js';

/** Message properties under RabbitMQ's management API names (plus celeriac's `delay`, in ms). */
export interface PropertiesJson {
  content_type?: string;
  content_encoding?: string;
  headers?: Record<string, unknown>;
  /** 2 = persistent (stored when the queue is durable), 1 = transient. */
  delivery_mode?: number;
  priority?: number;
  correlation_id?: string;
  reply_to?: string;
  /** Time to live in ms; RabbitMQ writes it as a string of digits, a number is taken too. */
  expiration?: string | number;
  message_id?: string;
  timestamp?: number;
  type?: string;
  user_id?: string;
  app_id?: string;
  /** Delayed delivery: the broker holds the message this many ms (celeriac's own). */
  delay?: number;
}

/** JSON schema of {@link PropertiesJson}; unknown names are refused so a typo is not silently dropped. */
export const PROPERTIES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    content_type: { type: 'string' },
    content_encoding: { type: 'string' },
    headers: { type: 'object', additionalProperties: true },
    delivery_mode: { type: 'integer', enum: [1, 2] },
    priority: { type: 'integer', minimum: 0, maximum: 255 },
    correlation_id: { type: 'string' },
    reply_to: { type: 'string' },
    expiration: { anyOf: [{ type: 'string', pattern: '^[0-9]+$' }, { type: 'integer', minimum: 0 }] },
    message_id: { type: 'string' },
    timestamp: { type: 'integer', minimum: 0 },
    type: { type: 'string' },
    user_id: { type: 'string' },
    app_id: { type: 'string' },
    delay: { type: 'integer', minimum: 0 },
  },
} as const;

/** The same properties as an answer (a get): anything a publisher set may be there. */
export const PROPERTIES_OUT_SCHEMA = { ...PROPERTIES_SCHEMA, additionalProperties: true } as const;

const NAMES = [
  ['content_type', 'contentType'], ['content_encoding', 'contentEncoding'], ['headers', 'headers'], ['priority', 'priority'],
  ['correlation_id', 'correlationId'], ['reply_to', 'replyTo'], ['message_id', 'messageId'], ['timestamp', 'timestamp'],
  ['type', 'type'], ['user_id', 'userId'], ['app_id', 'appId'], ['delay', 'delay'],
] as const satisfies readonly (readonly [keyof PropertiesJson, keyof MessageProperties])[];

/** RabbitMQ-named properties -> the broker's. */
export function propertiesFromJson(p: PropertiesJson): MessageProperties {
  const out: Record<string, unknown> = {};
  for (const [json, own] of NAMES) if (p[json] !== undefined) out[own] = p[json];
  if (p.delivery_mode !== undefined) out.persistent = p.delivery_mode === 2;
  if (p.expiration !== undefined) {
    const ms = Number(p.expiration);
    if (!Number.isSafeInteger(ms) || ms < 0) throw fail('ERR_INVALID_ARGUMENT', `property 'expiration' must be a whole number of ms, got ${JSON.stringify(p.expiration)}`);
    out.expiration = ms;
  }
  return out as MessageProperties;
}

/** The broker's properties -> RabbitMQ-named JSON (binary header values as base64 strings). */
export function propertiesToJson(p: MessageProperties | undefined): PropertiesJson {
  const out: Record<string, unknown> = {};
  if (p === undefined) return out;
  for (const [json, own] of NAMES) if (p[own] !== undefined && p[own] !== null) out[json] = jsonSafe(p[own]);
  if (p.persistent !== undefined) out.delivery_mode = p.persistent ? 2 : 1;
  if (p.expiration !== undefined && p.expiration !== null) out.expiration = String(p.expiration);
  return out as PropertiesJson;
}

/** A value from a message (msgpack may hold bytes and big integers) made JSON-safe. */
function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

/** How a payload is written in JSON. */
export type PayloadEncoding = 'string' | 'base64';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A publish's payload as bytes: a string is sent as its UTF-8. Bad base64 is refused, never guessed at. */
export function decodePayload(payload: string, encoding: PayloadEncoding): Uint8Array {
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (!BASE64.test(payload)) throw fail('ERR_INVALID_ARGUMENT', "payload is not base64 (payload_encoding 'base64')");
  return Buffer.from(payload, 'base64');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A message body for a get's answer: cut to `truncate` bytes when given, then as a string when
 * `auto` and it is valid UTF-8, else base64 (as RabbitMQ's get does).
 */
export function encodePayload(body: Uint8Array, encoding: 'auto' | 'base64', truncate?: number): { payload: string; payload_encoding: PayloadEncoding; payload_bytes: number } {
  const bytes = truncate !== undefined && body.byteLength > truncate ? body.subarray(0, truncate) : body;
  if (encoding === 'auto') {
    try {
      return { payload: UTF8.decode(bytes), payload_encoding: 'string', payload_bytes: body.byteLength };
    } catch {
      // not UTF-8: base64 below
    }
  }
  return { payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), payload_encoding: 'base64', payload_bytes: body.byteLength };
}

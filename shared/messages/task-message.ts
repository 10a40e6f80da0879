// buildTaskMessage(): call options → a Celery protocol v2 task message (headers, properties,
// serialized and possibly compressed body). The one place where task options meet wire fields.
import { hostname } from 'node:os';
import { fail } from '../errors.js';
import { COMPRESSION_METHODS, compress, compressionHeaderOf, isCompressionMethod } from './compression.js';
import { DEFAULT_REPR_MAX_LENGTH, safeRepr } from './repr.js';
import { encodeError, encodeFailure, findUnencodable } from './encodable.js';
import { getSerializer, type SerializerName } from './serializers.js';
import { describe, isPlainObject, readSignature } from './signature.js';
import type { BuildTaskMessageInput, Signature, TaskHeaders, TaskMessage, TaskProperties, WireBody, WireEmbed } from './types.js';
import { toWireTime } from './wire-time.js';

/**
 * Headers a worker writes on a task message it hands back to the broker to start later (its rate
 * slot is far off; worker/rate-gate.ts): the slot it booked for it (epoch ms), and how many
 * deliveries the earlier copies of the message had (the delivery limit counts them too).
 */
export const RATE_SLOT_HEADER = 'x-celeriac-rate-slot';
export const PRIOR_DELIVERIES_HEADER = 'x-celeriac-deliveries';

/** Header names the protocol owns; a user header may not replace them (and a retry does not copy them). */
export const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit',
  'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result', 'compression',
  RATE_SLOT_HEADER, PRIOR_DELIVERIES_HEADER,
]);

/** The producer language we announce in the `lang` header. */
export const LANG = 'ts';

let defaultOrigin: string | undefined;
/** Celery's anon_nodename(): `gen<pid>@<hostname>`. Computed once. */
function originOf(): string {
  defaultOrigin ??= `gen${process.pid}@${hostname()}`;
  return defaultOrigin;
}

/**
 * Builds a task message following Celery's message protocol v2 [Celery protocol v2]:
 * - properties: correlationId = id, contentType/contentEncoding of the serializer, persistent
 *   (default true = delivery mode 2), replyTo and priority when given, and `delay` (ms until the
 *   eta) when the eta is in the future so the broker holds the message;
 * - headers: lang 'ts', task, id, shadow, eta/expires (ISO 8601 or null), group, group_index,
 *   retries, timelimit [hard, soft] in seconds, root_id (default id), parent_id, argsrepr,
 *   kwargsrepr, origin, ignore_result, compression (only when compressed), user headers beside;
 * - body: `[args, kwargs, {callbacks, errbacks, chain, chord}]`, with `chain` reversed (the
 *   input lists steps in execution order; a worker pops the next one off the end).
 * Invalid input throws ERR_INVALID_ARGUMENT naming the field; a value of the body the serializer
 * cannot carry (see findUnencodable) throws ERR_ENCODE naming the task and the value's path.
 */
export function buildTaskMessage(input: BuildTaskMessageInput): TaskMessage {
  if (!isPlainObject(input)) throw fail('ERR_INVALID_ARGUMENT', `buildTaskMessage needs an options object, got ${describe(input)}`);
  const id = requireText(input.id, 'id');
  const task = requireText(input.task, 'task');
  const args = input.args ?? [];
  if (!Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', `args must be an array, got ${describe(args)}`);
  const kwargs = input.kwargs ?? {};
  if (!isPlainObject(kwargs)) throw fail('ERR_INVALID_ARGUMENT', `kwargs must be a plain object, got ${describe(kwargs)}`);

  const now = input.now ?? Date.now();
  if (!Number.isFinite(now)) throw fail('ERR_INVALID_ARGUMENT', `now must be a time in ms, got ${String(now)}`);
  const eta = etaOf(input, now);
  const expires = expiresOf(input.expires, now);

  const serializerName: SerializerName = input.serializer ?? 'json';
  const serializer = getSerializer(serializerName);
  const compression = input.compression ?? null;
  if (compression !== null && !isCompressionMethod(compression)) {
    throw fail('ERR_INVALID_ARGUMENT', `unknown compression '${String(compression)}' (known: ${COMPRESSION_METHODS.join(', ')})`);
  }

  const reprMax = input.reprMaxLength ?? DEFAULT_REPR_MAX_LENGTH;
  const headers: TaskHeaders = {
    lang: LANG,
    task,
    id,
    shadow: optionalText(input.shadow, 'shadow'),
    eta: eta === null ? null : toWireTime(eta),
    expires: expires === null ? null : toWireTime(expires),
    group: optionalText(input.group, 'group'),
    group_index: optionalInt(input.groupIndex, 'groupIndex', 0),
    retries: optionalInt(input.retries, 'retries', 0) ?? 0,
    timelimit: [seconds(input.timeLimit, 'timeLimit'), seconds(input.softTimeLimit, 'softTimeLimit')],
    root_id: optionalText(input.rootId, 'rootId') ?? id,
    parent_id: optionalText(input.parentId, 'parentId'),
    argsrepr: input.argsrepr == null ? safeRepr(args, reprMax) : requireString(input.argsrepr, 'argsrepr'),
    kwargsrepr: input.kwargsrepr == null ? safeRepr(kwargs, reprMax) : requireString(input.kwargsrepr, 'kwargsrepr'),
    origin: input.origin == null ? originOf() : requireText(input.origin, 'origin'),
    ignore_result: input.ignoreResult ?? false,
  };
  if (typeof headers.ignore_result !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `ignoreResult must be a boolean, got ${describe(headers.ignore_result)}`);
  mergeUserHeaders(headers, input.headers);

  const embed: WireEmbed = {
    callbacks: signatureList(input.callbacks, 'callbacks'),
    errbacks: signatureList(input.errbacks, 'errbacks'),
    chain: signatureList(input.chain, 'chain'),
    chord: input.chord == null ? null : readSignature(input.chord, 'chord'),
  };
  const body: WireBody = [[...args], { ...kwargs }, embed];
  // Checked while the chain is in execution order, so a path names the step the caller meant.
  checkBody(body, serializerName, task, id);
  // [Celery protocol v2] chain holds the remaining steps in reverse order.
  embed.chain?.reverse();
  let bytes: Uint8Array;
  try {
    bytes = serializer.encode(body);
  } catch (err) {
    throw encodeFailure(`the message of task ${task}[${id}]`, serializerName, err, { task, taskId: id });
  }
  if (compression !== null) {
    bytes = compress(compression, bytes);
    headers.compression = compressionHeaderOf(compression);
  }

  const properties: TaskProperties = {
    correlationId: id,
    contentType: serializer.contentType,
    contentEncoding: serializer.contentEncoding,
    persistent: input.persistent ?? true,
  };
  if (typeof properties.persistent !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `persistent must be a boolean, got ${describe(properties.persistent)}`);
  if (input.replyTo !== undefined) properties.replyTo = requireText(input.replyTo, 'replyTo');
  if (input.priority !== undefined) {
    const p = input.priority;
    if (!Number.isInteger(p) || p < 0 || p > 255) throw fail('ERR_INVALID_ARGUMENT', `priority must be an integer 0-255, got ${String(p)}`);
    properties.priority = p;
  }
  if (eta !== null && eta.getTime() > now) properties.delay = Math.ceil(eta.getTime() - now);
  return { headers, properties, body: bytes };
}

/**
 * Throws ERR_ENCODE naming the task and the first value of the body the serializer cannot carry
 * (`args[1].x`, `kwargs.when`, `callbacks[0].args[2]`, `chain[1].kwargs.n`), before anything is sent.
 */
function checkBody(body: WireBody, serializer: SerializerName, task: string, id: string): void {
  const [args, kwargs, embed] = body;
  // Depths inside the body array (depth 1): args and kwargs 2, a list's signature 4, the chord 3.
  const parts: Array<[value: unknown, root: string, depth: number]> = [[args, 'args', 2], [kwargs, 'kwargs', 2]];
  for (const field of ['callbacks', 'errbacks', 'chain'] as const) embed[field]?.forEach((sig, i) => parts.push([sig, `${field}[${i}]`, 4]));
  if (embed.chord !== null) parts.push([embed.chord, 'chord', 3]);
  for (const [value, root, depth] of parts) {
    const found = findUnencodable(value, serializer, { root, depth });
    if (found === undefined) continue;
    const subject = depth === 2 ? `the arguments of task ${task}[${id}]` : `the message of task ${task}[${id}]`;
    throw encodeError(subject, serializer, found, { task, taskId: id });
  }
}

function etaOf(input: BuildTaskMessageInput, now: number): Date | null {
  const { countdown, eta } = input;
  if (countdown != null && eta != null) throw fail('ERR_INVALID_ARGUMENT', 'give countdown or eta, not both');
  if (countdown != null) {
    if (typeof countdown !== 'number' || !Number.isFinite(countdown)) throw fail('ERR_INVALID_ARGUMENT', `countdown must be a number of ms, got ${describe(countdown)}`);
    return new Date(now + countdown);
  }
  if (eta == null) return null;
  return validDate(eta, 'eta');
}

function expiresOf(expires: number | Date | null | undefined, now: number): Date | null {
  if (expires == null) return null;
  if (typeof expires === 'number') {
    if (!Number.isFinite(expires)) throw fail('ERR_INVALID_ARGUMENT', `expires must be a number of ms or a Date, got ${String(expires)}`);
    return new Date(now + expires);
  }
  return validDate(expires, 'expires');
}

function validDate(v: unknown, field: string): Date {
  if (!(v instanceof Date) || !Number.isFinite(v.getTime())) throw fail('ERR_INVALID_ARGUMENT', `${field} must be a valid Date, got ${describe(v)}`);
  return v;
}

/** ms → seconds for the timelimit header; null/undefined stays null. */
function seconds(ms: number | null | undefined, field: string): number | null {
  if (ms == null) return null;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw fail('ERR_INVALID_ARGUMENT', `${field} must be a positive number of ms, got ${String(ms)}`);
  return ms / 1000;
}

function requireText(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw fail('ERR_INVALID_ARGUMENT', `${field} must be a non-empty string, got ${describe(v)}`);
  return v;
}

function requireString(v: unknown, field: string): string {
  if (typeof v !== 'string') throw fail('ERR_INVALID_ARGUMENT', `${field} must be a string, got ${describe(v)}`);
  return v;
}

function optionalText(v: unknown, field: string): string | null {
  return v == null ? null : requireText(v, field);
}

function optionalInt(v: unknown, field: string, min: number): number | null {
  if (v == null) return null;
  if (!Number.isInteger(v) || (v as number) < min) throw fail('ERR_INVALID_ARGUMENT', `${field} must be an integer >= ${min}, got ${String(v)}`);
  return v as number;
}

function signatureList(list: readonly Signature[] | undefined, field: string): Signature[] | null {
  if (list == null) return null;
  if (!Array.isArray(list)) throw fail('ERR_INVALID_ARGUMENT', `${field} must be an array of signatures, got ${describe(list)}`);
  // Celery writes None rather than an empty list.
  return list.length === 0 ? null : list.map((s, i) => readSignature(s, `${field}[${i}]`));
}

function mergeUserHeaders(headers: TaskHeaders, user: Readonly<Record<string, unknown>> | undefined): void {
  if (user == null) return;
  if (!isPlainObject(user)) throw fail('ERR_INVALID_ARGUMENT', `headers must be a plain object, got ${describe(user)}`);
  for (const [key, value] of Object.entries(user)) {
    // Celery lets a user header overwrite protocol fields; we refuse, since a replaced id or
    // task would make headers and body disagree.
    if (key === '__proto__') throw fail('ERR_INVALID_ARGUMENT', "header '__proto__' is not allowed");
    if (PROTOCOL_HEADERS.has(key)) throw fail('ERR_INVALID_ARGUMENT', `header '${key}' is a protocol header and cannot be set through headers`, { header: key });
    headers[key] = value;
  }
}

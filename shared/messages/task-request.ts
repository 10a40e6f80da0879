// parseTaskMessage(): a received message → a checked TaskRequest. Order matters: acceptContent
// first (properties only), then the headers, then decompression, and decoding last.
import { fail } from '../errors.js';
import { decompress, DEFAULT_MAX_DECOMPRESSED_SIZE } from './compression.js';
import { compileAccept, DEFAULT_ACCEPT_CONTENT, guardContent, type CompiledAccept } from './content-guard.js';
import { describe, isPlainObject, readSignature, readSignatures } from './signature.js';
import type { ParseTaskMessageOptions, ReceivedProperties, TaskEmbed, TaskRequest } from './types.js';
import { parseWireTime } from './wire-time.js';

const defaultAccept: CompiledAccept = compileAccept(DEFAULT_ACCEPT_CONTENT);

/**
 * Reads a task message [Celery protocol v2]. Steps, each before the next:
 * 1. acceptContent (guardContent): a content type outside the whitelist throws ERR_ACCESS_DENIED
 *    and the body is never decompressed nor decoded;
 * 2. headers: `task` and `id` must be present (no `task` header: not a protocol v2 message —
 *    protocol v1 is not supported), eta/expires ISO 8601 or null, timelimit [hard, soft] seconds;
 * 3. decompression when the `compression` header says so, capped at `maxBodySize`
 *    (ERR_MESSAGE_TOO_LARGE past it);
 * 4. decoding, then the body's shape: `[args (array), kwargs (object), embed (object)]`.
 * Anything malformed throws ERR_INVALID_ARGUMENT with a message naming the field.
 */
export function parseTaskMessage(
  headers: Readonly<Record<string, unknown>> | null | undefined,
  properties: ReceivedProperties | null | undefined,
  body: Uint8Array,
  options: ParseTaskMessageOptions = {},
): TaskRequest {
  const h = headers ?? {};
  const props = properties ?? {};
  if (!isPlainObject(h)) throw fail('ERR_INVALID_ARGUMENT', `task message headers must be an object, got ${describe(h)}`);

  // 1. The whitelist, from properties and the compression header alone.
  const plan = guardContent(
    { contentType: props.contentType, contentEncoding: props.contentEncoding, compression: h.compression },
    options.accept ?? defaultAccept,
  );

  // 2. Headers.
  const task = h.task;
  if (task === undefined || task === null) {
    throw fail('ERR_INVALID_ARGUMENT', "not a Celery protocol v2 task message: the 'task' header is missing (protocol v1, with the task name in the body, is not supported)");
  }
  if (typeof task !== 'string' || task === '') throw fail('ERR_INVALID_ARGUMENT', `the 'task' header must be a non-empty string, got ${describe(task)}`);
  const id = h.id;
  if (typeof id !== 'string' || id === '') throw fail('ERR_INVALID_ARGUMENT', `task '${task}': the 'id' header must be a non-empty string, got ${describe(id)}`);
  const where = `task '${task}' (${id})`;

  // 3 and 4. Body.
  if (!(body instanceof Uint8Array)) throw fail('ERR_INVALID_ARGUMENT', `${where}: the body must be bytes, got ${describe(body)}`);
  const raw = plan.compression === null
    ? body
    : decompress(plan.compression, body, { maxOutputLength: options.maxBodySize ?? DEFAULT_MAX_DECOMPRESSED_SIZE });
  const decoded = plan.serializer.decode(raw);
  if (!Array.isArray(decoded) || decoded.length !== 3) {
    throw fail('ERR_INVALID_ARGUMENT', `${where}: the body must be a 3-element array [args, kwargs, embed], got ${Array.isArray(decoded) ? `an array of ${decoded.length}` : describe(decoded)}`);
  }
  const [args, kwargs, embed] = decoded as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', `${where}: args (body[0]) must be an array, got ${describe(args)}`);
  if (!isPlainObject(kwargs)) throw fail('ERR_INVALID_ARGUMENT', `${where}: kwargs (body[1]) must be an object, got ${describe(kwargs)}`);

  return {
    id,
    task,
    args,
    kwargs,
    embed: readEmbed(embed, where),
    eta: timeHeader(h.eta, 'eta', where),
    expires: timeHeader(h.expires, 'expires', where),
    retries: intHeader(h.retries, 'retries', where) ?? 0,
    timeLimit: timeLimitHeader(h.timelimit, where),
    rootId: textHeader(h.root_id, 'root_id', where) ?? id,
    parentId: textHeader(h.parent_id, 'parent_id', where),
    group: textHeader(h.group, 'group', where),
    groupIndex: intHeader(h.group_index, 'group_index', where),
    shadow: textHeader(h.shadow, 'shadow', where),
    ignoreResult: boolHeader(h.ignore_result, 'ignore_result', where),
    origin: textHeader(h.origin, 'origin', where),
    lang: textHeader(h.lang, 'lang', where),
    argsrepr: textHeader(h.argsrepr, 'argsrepr', where),
    kwargsrepr: textHeader(h.kwargsrepr, 'kwargsrepr', where),
    replyTo: typeof props.replyTo === 'string' && props.replyTo !== '' ? props.replyTo : null,
    correlationId: typeof props.correlationId === 'string' ? props.correlationId : null,
    priority: typeof props.priority === 'number' ? props.priority : null,
    contentType: plan.contentType,
    compression: plan.compression,
    headers: h,
  };
}

function readEmbed(embed: unknown, where: string): TaskEmbed {
  if (!isPlainObject(embed)) throw fail('ERR_INVALID_ARGUMENT', `${where}: embed (body[2]) must be an object, got ${describe(embed)}`);
  return {
    callbacks: readSignatures(embed.callbacks, `${where}: embed.callbacks`),
    errbacks: readSignatures(embed.errbacks, `${where}: embed.errbacks`),
    // The wire keeps the chain reversed (each task pops the next step off the end).
    chain: readSignatures(embed.chain, `${where}: embed.chain`).reverse(),
    chord: embed.chord == null ? null : readSignature(embed.chord, `${where}: embed.chord`),
  };
}

function timeHeader(v: unknown, name: string, where: string): Date | null {
  if (v == null) return null;
  const date = typeof v === 'string' ? parseWireTime(v) : undefined;
  if (date === undefined) throw fail('ERR_INVALID_ARGUMENT', `${where}: the '${name}' header must be an ISO 8601 time or null, got ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`);
  return date;
}

function textHeader(v: unknown, name: string, where: string): string | null {
  if (v == null) return null;
  if (typeof v !== 'string') throw fail('ERR_INVALID_ARGUMENT', `${where}: the '${name}' header must be a string or null, got ${describe(v)}`);
  return v;
}

function intHeader(v: unknown, name: string, where: string): number | null {
  if (v == null) return null;
  if (!Number.isInteger(v) || (v as number) < 0) throw fail('ERR_INVALID_ARGUMENT', `${where}: the '${name}' header must be a non-negative integer or null, got ${String(v)}`);
  return v as number;
}

function boolHeader(v: unknown, name: string, where: string): boolean {
  if (v == null) return false;
  if (typeof v !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `${where}: the '${name}' header must be a boolean, got ${describe(v)}`);
  return v;
}

/** `[hard, soft]` seconds → ms; null, a missing header or a 0/null entry means no limit (as in Celery). */
function timeLimitHeader(v: unknown, where: string): { hard?: number; soft?: number } {
  if (v == null) return {};
  if (!Array.isArray(v) || v.length !== 2) throw fail('ERR_INVALID_ARGUMENT', `${where}: the 'timelimit' header must be [hard, soft] in seconds or null, got ${describe(v)}`);
  const out: { hard?: number; soft?: number } = {};
  const [hard, soft] = v as [unknown, unknown];
  for (const [key, s] of [['hard', hard], ['soft', soft]] as const) {
    if (s == null || s === 0) continue;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw fail('ERR_INVALID_ARGUMENT', `${where}: the 'timelimit' ${key} limit must be a number of seconds or null, got ${String(s)}`);
    out[key] = Math.round(s * 1000);
  }
  return out;
}

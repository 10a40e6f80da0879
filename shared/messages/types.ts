// The TypeScript shapes of a task message on the wire (Celery protocol v2) and of the request a
// worker reads from it. Types only; build and parse live in task-message.ts and task-request.ts.
import type { CompressionMethod } from './compression.js';
import type { CompiledAccept } from './content-guard.js';
import type { SerializerName } from './serializers.js';

/**
 * A task signature as it travels in a message (callbacks, errbacks, chain steps, chord callback),
 * field names exactly as Celery writes them [Celery protocol v2].
 */
export interface Signature {
  /** Registered task name. */
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Call options (queue, routing_key, countdown, ...), in Celery's snake_case. */
  options: Record<string, unknown>;
  /** null for a plain task; 'chain' / 'group' / 'chord' for nested canvas. */
  subtask_type: string | null;
  /** An immutable signature ignores the parent's result instead of receiving it as first argument. */
  immutable: boolean;
  /** Written by newer Celery versions for chord headers; kept when present. */
  chord_size?: number | null;
}

/** The body's third element as it is on the wire; `chain` is in reverse execution order. */
export interface WireEmbed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

/** The `[args, kwargs, embed]` body before serialization. */
export type WireBody = [args: unknown[], kwargs: Record<string, unknown>, embed: WireEmbed];

/** The protocol v2 headers celeriac writes; user headers are merged in beside them. */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  /** `[hard, soft]` in seconds, each null when unset (Celery's order; its docs have it backwards). */
  timelimit: [hard: number | null, soft: number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  /** Present only when the body is compressed: the compression's content type. */
  compression?: string;
  [userHeader: string]: unknown;
}

/** Message properties of a task message, named as celeriac's publish() takes them. */
export interface TaskProperties {
  /** The task id. */
  correlationId: string;
  contentType: string;
  contentEncoding: string;
  /** AMQP delivery mode 2: stored on disk when the queue is durable. */
  persistent: boolean;
  replyTo?: string;
  priority?: number;
  /** Milliseconds until the eta: the broker holds the message until then. */
  delay?: number;
}

/** A task message ready to publish: put `headers` into the publish properties' `headers`. */
export interface TaskMessage {
  headers: TaskHeaders;
  properties: TaskProperties;
  body: Uint8Array;
}

/** What buildTaskMessage() needs. Durations are milliseconds, as everywhere in celeriac. */
export interface BuildTaskMessageInput {
  /** Task id (a UUID string); also the correlationId. */
  id: string;
  /** Registered task name. */
  task: string;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  /** Default 'json'. */
  serializer?: SerializerName;
  /** Compress the body; default none. */
  compression?: CompressionMethod | null;
  /** Run no earlier than this many ms from `now` (turned into `eta`, as Celery does). */
  countdown?: number;
  /** Run no earlier than this time. Not together with countdown. */
  eta?: Date | null;
  /** Expire after this many ms from `now`, or at this time. */
  expires?: number | Date | null;
  /** The clock used for countdown, expires and the broker delay (ms since the epoch). Default Date.now(). */
  now?: number;
  /** 0 on the first send. */
  retries?: number;
  /** Hard time limit in ms (written in seconds). */
  timeLimit?: number | null;
  /** Soft time limit in ms (written in seconds). */
  softTimeLimit?: number | null;
  /** Workflow root; defaults to `id`. */
  rootId?: string | null;
  parentId?: string | null;
  /** Group id and position in it. */
  group?: string | null;
  groupIndex?: number | null;
  /** Display name for logs/monitors instead of `task`. */
  shadow?: string | null;
  replyTo?: string;
  /** 0-255. */
  priority?: number;
  /** Default true (AMQP delivery mode 2, Celery's default). */
  persistent?: boolean;
  ignoreResult?: boolean;
  /** Sending node's name; default `gen<pid>@<hostname>` like Celery's anon_nodename(). */
  origin?: string;
  /** Override the printable forms; default safeRepr of args/kwargs. */
  argsrepr?: string;
  kwargsrepr?: string;
  /** Cut argsrepr/kwargsrepr to this many characters; default 1024 (Celery's). */
  reprMaxLength?: number;
  /** User headers merged beside the protocol headers (a protocol header name is refused). */
  headers?: Readonly<Record<string, unknown>>;
  /** Signatures to call with the result (link). */
  callbacks?: readonly Signature[];
  /** Signatures to call on failure (link_error). */
  errbacks?: readonly Signature[];
  /** Remaining chain steps in EXECUTION order (next step first); written reversed on the wire. */
  chain?: readonly Signature[];
  /** Chord callback. */
  chord?: Signature | null;
}

/** callbacks/errbacks/chain/chord of a received task, nulls made empty; `chain` in execution order. */
export interface TaskEmbed {
  callbacks: Signature[];
  errbacks: Signature[];
  /** Remaining steps, next step first (the wire's reverse order undone). */
  chain: Signature[];
  chord: Signature | null;
}

/** A received task, decoded and checked; durations in ms, times as Dates. */
export interface TaskRequest {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  /** In ms; a limit is absent when unset (null or 0 on the wire). */
  timeLimit: { hard?: number; soft?: number };
  rootId: string;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  shadow: string | null;
  ignoreResult: boolean;
  origin: string | null;
  /** Producer language ('py', 'ts', ...), null when absent. */
  lang: string | null;
  argsrepr: string | null;
  kwargsrepr: string | null;
  replyTo: string | null;
  correlationId: string | null;
  priority: number | null;
  /** The accepted content type and the compression the body was read with. */
  contentType: string;
  compression: CompressionMethod | null;
  /** Every header as received, user headers included. */
  headers: Readonly<Record<string, unknown>>;
}

/** The properties parseTaskMessage() reads (a subset of a delivered message's properties). */
export interface ReceivedProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  correlationId?: string | undefined;
  replyTo?: string | undefined;
  priority?: number | undefined;
}

/** Options of parseTaskMessage(). */
export interface ParseTaskMessageOptions {
  /** The whitelist; default Celery's ['json']. Compile it once with compileAccept() for speed. */
  accept?: readonly string[] | CompiledAccept;
  /** Cap on the decompressed body in bytes (zip-bomb guard); default 64 MiB. */
  maxBodySize?: number;
}

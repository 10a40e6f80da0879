// Signature: a task call packed up to be sent later, passed as a callback or combined into chains,
// groups and chords (Celery's signature / subtask). `task.s(...)` makes one; `si` an immutable one.
import type { Signature as WireSignature } from '../../shared/messages/types.js';
import type { AsyncResult } from '../results/async-result.js';
import { wireSignatures } from '../tasks/producer.js';
import type { CallOptions, SignatureLike } from '../tasks/types.js';
import type { CanvasApp } from './canvas-app.js';

/** What a signature needs from its app to be sent. */
export interface SignatureSender {
  sendTask<R>(name: string, args: readonly unknown[], options?: CallOptions & { kwargs?: Record<string, unknown> }): Promise<AsyncResult<R>>;
  /** The app itself: chain, group and chord declare groups and build messages with it. */
  readonly app?: CanvasApp;
}

/** Call options a signature carries, Celery's snake_case names on the wire. */
const WIRE_OPTION_NAMES = {
  queue: 'queue', routingKey: 'routing_key', exchange: 'exchange', priority: 'priority', countdown: 'countdown',
  expires: 'expires', timeLimit: 'time_limit', softTimeLimit: 'soft_time_limit', ignoreResult: 'ignore_result',
  headers: 'headers', serializer: 'serializer', taskId: 'task_id', shadow: 'shadow', link: 'link', linkError: 'link_error',
} as const satisfies Partial<Record<keyof CallOptions, string>>;

/** Options holding signatures (written as wire signature lists, as Celery does). */
const SIGNATURE_OPTIONS: ReadonlySet<string> = new Set(['link', 'linkError']);

/** Options Celery writes in seconds; ours are ms. */
const IN_SECONDS: ReadonlySet<string> = new Set(['countdown', 'expires', 'timeLimit', 'softTimeLimit']);

/** A task call waiting to be made; `R` is what the task returns, `A` the args still expected. */
export class Signature<R = unknown> {
  constructor(
    private readonly sender: SignatureSender,
    readonly task: string,
    readonly args: readonly unknown[] = [],
    readonly options: Readonly<CallOptions> = {},
    /** An immutable signature ignores its parent's result (si). */
    readonly immutable = false,
    readonly kwargs: Readonly<Record<string, unknown>> = {},
  ) {}

  /** The app that sends this signature (undefined for a signature made without one). */
  get app(): CanvasApp | undefined {
    return this.sender.app;
  }

  /** A copy with more call options (Celery's set()). */
  set(options: CallOptions): Signature<R> {
    return new Signature<R>(this.sender, this.task, this.args, { ...this.options, ...options }, this.immutable, this.kwargs);
  }

  /** A copy with `args` put in front of its own (Celery's clone(args) for partials). */
  withArgs(args: readonly unknown[]): Signature<R> {
    return new Signature<R>(this.sender, this.task, this.immutable ? this.args : [...args, ...this.args], this.options, this.immutable, this.kwargs);
  }

  /** Sends the call with extra leading args (ignored when immutable). */
  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /** Sends the call; `args` go in front of the signature's own (unless immutable); options override. */
  applyAsync(args: readonly unknown[] = [], options: CallOptions = {}): Promise<AsyncResult<R>> {
    const all = this.immutable ? this.args : [...args, ...this.args];
    return this.sender.sendTask<R>(this.task, all, { ...this.options, ...options, kwargs: { ...this.kwargs } });
  }

  /** The signature as it travels in a message (callbacks, chain steps, chord body). */
  toWire(): WireSignature {
    const options: Record<string, unknown> = {};
    for (const [ours, theirs] of Object.entries(WIRE_OPTION_NAMES)) {
      const v = (this.options as Record<string, unknown>)[ours];
      if (v === undefined) continue;
      if (SIGNATURE_OPTIONS.has(ours)) {
        options[theirs] = wireSignatures(v as SignatureLike | readonly SignatureLike[]);
        continue;
      }
      options[theirs] = v instanceof Date ? v.toISOString() : typeof v === 'number' && IN_SECONDS.has(ours) ? v / 1000 : v;
    }
    return { task: this.task, args: [...this.args], kwargs: { ...this.kwargs }, options, subtask_type: null, immutable: this.immutable };
  }
}

/** Call options read back from a wire signature (the inverse of toWire's option names). */
export function callOptionsOf(wire: WireSignature): CallOptions {
  const out: Record<string, unknown> = {};
  for (const [ours, theirs] of Object.entries(WIRE_OPTION_NAMES)) {
    const v = wire.options[theirs];
    if (v === undefined || v === null) continue;
    if (SIGNATURE_OPTIONS.has(ours)) {
      // Only well-formed signatures are carried on: a foreign message's odd link is dropped, not sent.
      const list = (Array.isArray(v) ? v : [v]).filter(isWireSignature);
      if (list.length > 0) out[ours] = list;
      continue;
    }
    out[ours] = typeof v === 'number' && IN_SECONDS.has(ours) ? Math.round(v * 1000) : ours === 'expires' && typeof v === 'string' ? new Date(v) : v;
  }
  return out as CallOptions;
}

function isWireSignature(v: unknown): v is WireSignature {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return typeof s['task'] === 'string' && Array.isArray(s['args']) && s['kwargs'] !== null && typeof s['kwargs'] === 'object'
    && s['options'] !== null && typeof s['options'] === 'object';
}

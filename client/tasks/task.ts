// Task: what `app.task(name, fn, options)` returns. Calling it sends a message (delay, applyAsync);
// s()/si() pack a call into a signature for callbacks and canvas; call() runs it here and now.
import type { CanvasApp } from '../canvas/canvas-app.js';
import { Signature, type SignatureSender } from '../canvas/signature.js';
import type { AsyncResult } from '../results/async-result.js';
import type { TaskDefinition } from './definition.js';
import type { CallOptions, TaskOptions } from './types.js';

/** What a task needs from its app: sending with its own options applied. */
export interface TaskSender {
  sendTask<R>(name: string, args: readonly unknown[], options?: CallOptions & { kwargs?: Record<string, unknown> }, taskOptions?: Readonly<TaskOptions>): Promise<AsyncResult<R>>;
}

/** Call options plus keyword arguments (for tasks written to take a trailing options object). */
export type ApplyOptions = CallOptions & { kwargs?: Record<string, unknown> };

/** A registered task, typed by its arguments `A` and its (awaited) return value `R`. */
export class Task<A extends unknown[] = unknown[], R = unknown> {
  readonly name: string;

  constructor(private readonly sender: TaskSender & CanvasApp, readonly definition: TaskDefinition) {
    this.name = definition.name;
  }

  /** Sends a call with these arguments; resolves once the broker confirmed the message. */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.sender.sendTask<R>(this.name, args, {}, this.definition.options);
  }

  /** Sends a call with call options (queue, countdown, eta, expires, priority, link, ...). */
  applyAsync(args: A, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    return this.sender.sendTask<R>(this.name, args, options, this.definition.options);
  }

  /**
   * A signature of this task (Celery's `s()`): the args given now come after any the call adds
   * (in a chain, the previous step's result comes first), so they may be a partial list.
   */
  s(...args: unknown[]): Signature<R> {
    return new Signature<R>(this.asSigSender(), this.name, args, this.routeOptions());
  }

  /** An immutable signature: it ignores the previous step's result and runs with exactly `args`. */
  si(...args: A): Signature<R> {
    return new Signature<R>(this.asSigSender(), this.name, args, this.routeOptions(), true);
  }

  /** One task (built-in `celery.map`) that calls this task with each item as its one argument, in turn; its result is the list of results. */
  map(items: readonly A[0][]): Signature<R[]> {
    return new Signature<R[]>(this.appSender(), 'celery.map', [this.name, [...items]], this.routeOptions());
  }

  /** Like map(), each item being the whole argument list (built-in `celery.starmap`). */
  starmap(items: readonly A[]): Signature<R[]> {
    return new Signature<R[]>(this.appSender(), 'celery.starmap', [this.name, [...items]], this.routeOptions());
  }

  /** Runs the function here, in this process, without a broker (Celery's `task(...)`); `this` is a local context. */
  async call(...args: A): Promise<R> {
    const { runLocally } = await import('./run-locally.js');
    return runLocally<R>(this.definition, args);
  }

  private asSigSender(): SignatureSender {
    return { sendTask: (name, args, options) => this.sender.sendTask(name, args, options, this.definition.options), app: this.sender };
  }

  /** A sender with the app's options for the named task (a built-in), not this task's. */
  private appSender(): SignatureSender {
    return { sendTask: (name, args, options) => this.sender.sendTask(name, args, options), app: this.sender };
  }

  /** The task's routing options, carried in its signatures so a callback sent by a worker lands in the same place. */
  private routeOptions(): CallOptions {
    const o = this.definition.options;
    const out: CallOptions = {};
    if (o.queue !== undefined) out.queue = o.queue;
    if (o.routingKey !== undefined) out.routingKey = o.routingKey;
    if (o.exchange !== undefined) out.exchange = o.exchange;
    if (o.priority !== undefined) out.priority = o.priority;
    return out;
  }
}

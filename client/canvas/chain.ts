// chain(a, b, c): each step's result goes to the next as its first argument. The first step is
// sent with the rest in its message (Celery protocol v2 `chain`); the worker sends each next step.
import { fail } from '../../shared/errors.js';
import type { PreparedTask } from '../tasks/producer.js';
import { ChainResult } from '../results/chain-result.js';
import type { CallOptions } from '../tasks/types.js';
import { appOf, firstApp, type CanvasApp } from './canvas-app.js';
import type { Chord } from './chord.js';
import { Group } from './group.js';
import { sendNested } from './nested-chain.js';
import { Signature } from './signature.js';
import { chainResultOf, frozen, idOf, kindOf, prepareStep, registerPending, signatureList, storesResult } from './steps.js';

/** A chain's steps, each with its task id, and how the first one is sent. */
export interface ChainPlan {
  /** The steps in execution order, ids assigned; the last one's id is the chain's result id. */
  steps: Signature[];
  /** Call options for the first step: the caller's, plus the later steps as the message's chain. */
  firstCall: CallOptions;
}

/** Steps in a chain: signatures, chains (flattened), groups and chords (a group followed by a step is a chord). */
export type ChainStep<R = unknown> = Signature<R> | Chain<R> | Chord<R> | Group<readonly unknown[]>;

/** The return value of a chain step. */
export type ResultOf<S> = S extends Chain<infer R> ? R : S extends Chord<infer R> ? R : S extends Signature<infer R> ? R : unknown;

/** A chain of task calls, typed by the last step's result `R`. */
export class Chain<R = unknown> {
  /** The items in execution order: signatures and groups (chains and chords flattened). */
  readonly items: readonly (Signature | Group<readonly unknown[]>)[];
  /** True when a group is among the items (sent as Celery's chain-to-chord upgrade). */
  readonly nested: boolean;

  constructor(steps: readonly ChainStep[]) {
    const flat: (Signature | Group<readonly unknown[]>)[] = [];
    for (const [i, s] of steps.entries()) {
      if (s instanceof Chain) flat.push(...s.items);
      else if (s instanceof Signature || s instanceof Group) flat.push(s);
      else if (isChord(s)) flat.push(new Group(s.header), ...(s.body instanceof Chain ? s.body.items : [s.body]));
      else throw unsupportedStep(s, i);
    }
    if (flat.length === 0) throw fail('ERR_INVALID_ARGUMENT', 'chain() needs at least one signature');
    this.items = flat;
    this.nested = flat.some((x) => x instanceof Group);
    if (this.nested) checkNesting(flat);
  }

  /** The steps of a chain without groups, in execution order. */
  get steps(): readonly Signature[] {
    if (this.nested) throw fail('ERR_INVALID_ARGUMENT', 'this chain holds a group: it has no flat list of steps');
    return this.items as readonly Signature[];
  }

  /** The app that sends the chain (the first step's that has one). */
  get app(): CanvasApp | undefined {
    return firstApp(this.items);
  }

  /** Sends the chain; `args` go in front of the first step's own. */
  delay(...args: unknown[]): Promise<ChainResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Sends the chain. `args` go to the first step; `options` apply to the first step, except
   * `taskId` (the LAST step's id, the one returned), `link` (called with the chain's result) and
   * `linkError` (attached to every step, as Celery does). Resolves once the first step is
   * confirmed, with the last step's result; its `parents` are the earlier steps.
   */
  async applyAsync(args: readonly unknown[] = [], options: CallOptions = {}): Promise<ChainResult<R>> {
    if (this.nested) return sendNested<R>(this.items, args, options);
    const app = appOf(this.steps, 'chain');
    const plan = this.plan(options);
    const { results } = await app.link();
    await registerPending(app, results, plan.steps.slice(1).filter((s) => storesResult(app, s)).map(idOf));
    await plan.steps[0]!.applyAsync(args, plan.firstCall);
    return this.resultOf(app, plan);
  }

  /** @internal Assigns ids and builds the first step's call options (chord bodies use it too). */
  plan(options: CallOptions = {}): ChainPlan {
    const { taskId, link, linkError, chain: _chain, ...rest } = options;
    const n = this.steps.length;
    const steps = this.steps.map((s, i) => {
      const more: CallOptions = {};
      if (i === n - 1 && taskId !== undefined) more.taskId = taskId;
      if (i === n - 1 && link !== undefined) more.link = [...signatureList(s.options.link), ...signatureList(link)];
      if (linkError !== undefined) more.linkError = [...signatureList(s.options.linkError), ...signatureList(linkError)];
      return frozen(Object.keys(more).length === 0 ? s : s.set(more));
    });
    return { steps, firstCall: { ...rest, chain: steps.slice(1).map((s) => s.toWire()) } };
  }

  /** @internal The result handle of a planned chain. */
  resultOf(app: CanvasApp, plan: ChainPlan): ChainResult<R> {
    return chainResultOf<R>(app, plan.steps);
  }

  /**
   * @internal The first step's message, for a chain sent by the broker (a chord body): the later
   * steps must be registered PENDING (registerPending) before the message can run.
   */
  prepare(app: CanvasApp, plan: ChainPlan, extra: CallOptions): PreparedTask {
    const first = plan.steps[0]!;
    return prepareStep(app, first, { ...first.options, ...plan.firstCall, ...extra });
  }
}

/** chord.ts imports this module, so a chord is recognised by its kind, not its class. */
function isChord(s: unknown): s is Chord<unknown> {
  return s !== null && typeof s === 'object' && (s as { kind?: unknown }).kind === 'chord';
}

function unsupportedStep(s: unknown, i: number): Error {
  return fail('ERR_INVALID_ARGUMENT', `chain step ${i} must be a signature (task.s() / task.si()), a chain, a group or a chord, got ${kindOf(s)}`);
}

/** What the chain-to-chord upgrade cannot express, refused when the chain is built. */
function checkNesting(items: readonly (Signature | Group<readonly unknown[]>)[]): void {
  for (const [i, x] of items.entries()) {
    const next = items[i + 1];
    if (!(x instanceof Group)) continue;
    if (next === undefined) {
      throw fail('ERR_INVALID_ARGUMENT', 'a chain ending in a group is not supported yet: end it with a task that takes the list of results (a chord), or send the group from a task');
    }
    if (next instanceof Group) throw fail('ERR_INVALID_ARGUMENT', `chain steps ${i} and ${i + 1} are two groups in a row: not supported (put a task between them)`);
    if (x.members.length === 0) throw fail('ERR_INVALID_ARGUMENT', `the group at chain step ${i} is empty`);
  }
}

/**
 * Chains task calls: each step gets the previous step's result as its first argument (unless it
 * is immutable, `si()`). `await chain(add.s(1, 1), add.s(2)).delay()` → a result of 4.
 */
export function chain<R>(...steps: [...ChainStep[], ChainStep<R>]): Chain<R> {
  return new Chain<R>(steps);
}

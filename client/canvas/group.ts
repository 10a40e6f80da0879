// group(a, b, c): calls sent together, each with the group's id and its index. The broker is told
// the group first (its member ids), so it counts the members' results as they land.
import { newTaskId } from '../../shared/messages/task-id.js';
import { fail } from '../../shared/errors.js';
import { GroupResult, NO_RESULTS } from '../results/group-result.js';
import type { CallOptions } from '../tasks/types.js';
import { appOf, firstApp, type CanvasApp } from './canvas-app.js';
import { Signature } from './signature.js';
import { frozen, groupExpiry, idOf, kindOf, memberOptions } from './steps.js';

/** The results of a list of signatures, element by element. */
export type ResultsOf<S extends readonly unknown[]> = { -readonly [K in keyof S]: S[K] extends Signature<infer R> ? R : unknown };

/** A group of task calls; `R` is the list of their results, in order. */
export class Group<R extends readonly unknown[] = unknown[]> {
  /** The members, in group order. */
  readonly members: readonly Signature[];

  constructor(members: readonly Signature[]) {
    for (const [i, m] of members.entries()) {
      if (!(m instanceof Signature)) {
        throw fail('ERR_INVALID_ARGUMENT', `group member ${i} must be a signature (task.s() / task.si()), got ${kindOf(m)}: chains, groups and chords inside a group are not supported yet`);
      }
    }
    this.members = [...members];
  }

  /** The app that sends the group (the first member's that has one). */
  get app(): CanvasApp | undefined {
    return firstApp(this.members);
  }

  /** Sends every member; `args` go in front of each member's own. */
  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Declares the group in the broker, then sends every member (`args` in front of each one's own,
   * `options` applied to each). Resolves once all are confirmed, with their results in order.
   * An empty group sends nothing and its get() resolves with [].
   */
  async applyAsync(args: readonly unknown[] = [], options: CallOptions = {}): Promise<GroupResult<R>> {
    const id = newTaskId();
    if (this.members.length === 0) return new GroupResult<R>(id, [], NO_RESULTS);
    const app = appOf(this.members, 'group');
    const members = this.members.map((m) => frozen(m));
    const { results: backend } = await app.link();
    await backend.declareGroup(id, members.map(idOf), groupExpiry(app));
    const call = memberOptions(options);
    const results = await Promise.all(members.map((m, i) => m.applyAsync(args, { ...call, groupId: id, groupIndex: i })));
    return new GroupResult<R>(id, results, app);
  }
}

/**
 * Groups task calls to run in parallel: `await group(add.s(1, 1), add.s(2, 2)).delay()` → a
 * GroupResult whose get() resolves with [2, 4]. Takes the signatures as arguments or as one array.
 */
export function group<const S extends readonly Signature[]>(members: S): Group<ResultsOf<S>>;
export function group<const S extends readonly Signature[]>(...members: S): Group<ResultsOf<S>>;
export function group(...input: unknown[]): Group {
  const members = input.length === 1 && Array.isArray(input[0]) ? (input[0] as Signature[]) : (input as Signature[]);
  return new Group(members);
}

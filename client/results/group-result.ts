// The result of a group (or a chord's header): its members' AsyncResults in group order. The broker
// counts the group's final members, so ready() and completedCount() are one request each.
import type { GroupRecord } from '../../shared/frames.js';
import { READY_STATES, type TaskState } from '../../shared/task-states.js';
import { AsyncResult, type GetResultOptions, type ResultSource } from './async-result.js';

/** The state of every member, read in one request (the group record) or, for an unknown group, one per member. */
type MemberStates = (string | null)[];

/** A source for a group with no members: nothing is ever read through it. */
export const NO_RESULTS: ResultSource = {
  backend: () => Promise.reject(new Error('an empty group has no results to read')),
  resultAccept: { contentTypes: new Set(), source: [] },
};

/** A group's results; `R` is the tuple (or array) of the members' return values. */
export class GroupResult<R extends readonly unknown[] = unknown[]> {
  constructor(
    /** The group id (every member's message carries it). */
    readonly id: string,
    /** The members' results, in group order. */
    readonly results: readonly AsyncResult[],
    private readonly source: ResultSource,
  ) {}

  /**
   * Waits for every member and resolves with their values in group order. Rejects as soon as a
   * member fails (with that member's error, as AsyncResult.get() would), or after `timeout` ms.
   */
  async get(options: GetResultOptions = {}): Promise<R> {
    const values = await Promise.all(this.results.map((r) => r.get(options)));
    return values as unknown as R;
  }

  /** Celery's name for get(). */
  join(options: GetResultOptions = {}): Promise<R> {
    return this.get(options);
  }

  /** True once every member succeeded, failed or was revoked (the broker's counter). */
  async ready(): Promise<boolean> {
    const g = await this.group();
    if (g !== null) return g.done >= g.members.length;
    return (await this.states()).every((s) => s !== null && READY_STATES.has(s as TaskState));
  }

  /** The inverse of ready(): some member is still to finish. */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** True when every member succeeded. */
  async successful(): Promise<boolean> {
    return (await this.states()).every((s) => s === 'SUCCESS');
  }

  /** True when some member failed. */
  async failed(): Promise<boolean> {
    return (await this.states()).some((s) => s === 'FAILURE');
  }

  /** How many members succeeded (Celery's completed_count: "complete" means successful here). */
  async completedCount(): Promise<number> {
    return (await this.states()).filter((s) => s === 'SUCCESS').length;
  }

  /** How many members reached a final state, failures included (the broker's counter). */
  async doneCount(): Promise<number> {
    const g = await this.group();
    if (g !== null) return g.done;
    return (await this.states()).filter((s) => s !== null && READY_STATES.has(s as TaskState)).length;
  }

  /** Forgets every member's result. */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((r) => r.forget()));
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }

  /** The broker's group record; null for an empty, expired or never declared group. */
  private async group(): Promise<GroupRecord | null> {
    if (this.results.length === 0) return null;
    return (await this.source.backend()).getGroup(this.id);
  }

  private async states(): Promise<MemberStates> {
    if (this.results.length === 0) return [];
    const g = await this.group();
    if (g !== null) return g.results.map((r) => r?.state ?? null);
    const conn = await this.source.backend();
    return Promise.all(this.results.map(async (r) => (await conn.getResult(r.id))?.state ?? null));
  }
}

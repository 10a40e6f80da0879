// Task outcomes and run times per vhost and task name, counted where a task's end reaches the
// broker: a worker's finish (its result carries the task name and run time) and a revoked task's
// message dropped before hand-out. Plain numbers on the hot path; /metrics reads them on a scrape.

/** How a task run ended, as /metrics labels it. */
export type TaskOutcome = 'succeeded' | 'failed' | 'retried' | 'revoked';

/** The result state a finish stores -> the outcome it counts as (other states count nothing). */
const OUTCOME_OF_STATE: Readonly<Record<string, TaskOutcome>> = {
  SUCCESS: 'succeeded', FAILURE: 'failed', RETRY: 'retried', REVOKED: 'revoked',
};

/** The outcome a result state counts as, or undefined (PENDING, STARTED...: not an end). */
export function outcomeOfState(state: string): TaskOutcome | undefined {
  return OUTCOME_OF_STATE[state];
}

/**
 * Upper bounds (seconds) of the run-time histogram's buckets: 1 ms to 10 minutes, about three per
 * decade, so a 2 ms task and a 3-minute report both land in a bucket that tells them apart.
 */
export const RUNTIME_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
]);

/** Distinct task names counted per vhost; the names seen after these are counted as OTHER_TASK. */
export const DEFAULT_MAX_TASK_NAMES = 1_000;
/** The task label of every name past the cap (and of an empty name or one too long to be a label). */
export const OTHER_TASK = 'other';
/** Longest task name kept as a label; a longer one is counted as OTHER_TASK. */
const MAX_TASK_NAME_LENGTH = 255;

/** One (vhost, task) series: outcome counts and the run-time histogram. */
export interface TaskSeries {
  readonly vhost: string;
  readonly task: string;
  readonly outcomes: Readonly<Record<TaskOutcome, number>>;
  /** Runs per bucket of RUNTIME_BUCKETS, not cumulative; one more slot for runs over the last bound. */
  readonly buckets: readonly number[];
  /** Sum of the runs' run times, seconds. */
  readonly runtimeSum: number;
  /** Runs with a run time. */
  readonly runtimeCount: number;
}

interface MutableSeries extends TaskSeries {
  readonly outcomes: Record<TaskOutcome, number>;
  readonly buckets: number[];
  runtimeSum: number;
  runtimeCount: number;
}

function newSeries(vhost: string, task: string): MutableSeries {
  return {
    vhost, task, outcomes: { succeeded: 0, failed: 0, retried: 0, revoked: 0 },
    buckets: new Array<number>(RUNTIME_BUCKETS.length + 1).fill(0), runtimeSum: 0, runtimeCount: 0,
  };
}

/**
 * The counts. Task names come from producers, so they are user-controlled: each vhost keeps at
 * most `maxTaskNames` series, and every later name is counted under OTHER_TASK, so a producer
 * inventing names cannot grow the broker's memory or the exposition without bound.
 */
export class TaskStats {
  private readonly byVhost = new Map<string, Map<string, MutableSeries>>();

  constructor(readonly maxTaskNames: number = DEFAULT_MAX_TASK_NAMES) {}

  /** Counts one end of task `task` in `vhost`; `runtime` (seconds) goes into the histogram when given. */
  record(vhost: string, task: string, outcome: TaskOutcome, runtime?: number): void {
    const s = this.seriesFor(vhost, task);
    s.outcomes[outcome]++;
    if (runtime === undefined || !(runtime >= 0) || runtime === Infinity) return;
    let i = 0;
    while (i < RUNTIME_BUCKETS.length && runtime > RUNTIME_BUCKETS[i]!) i++;
    s.buckets[i]!++;
    s.runtimeSum += runtime;
    s.runtimeCount++;
  }

  /** Every series, for a scrape. */
  *series(): IterableIterator<TaskSeries> {
    for (const tasks of this.byVhost.values()) yield* tasks.values();
  }

  private seriesFor(vhost: string, task: string): MutableSeries {
    let tasks = this.byVhost.get(vhost);
    if (tasks === undefined) this.byVhost.set(vhost, (tasks = new Map()));
    let s = tasks.get(task);
    if (s !== undefined) return s;
    // The OTHER_TASK series does not count against the cap, so it can always be made.
    const named = tasks.size - (tasks.has(OTHER_TASK) ? 1 : 0);
    const name = named < this.maxTaskNames && task !== '' && task.length <= MAX_TASK_NAME_LENGTH ? task : OTHER_TASK;
    s = tasks.get(name);
    if (s === undefined) tasks.set(name, (s = newSeries(vhost, name)));
    return s;
  }
}

// The result of a chord: its body's result (a chain body: the last step's), which also holds the
// header's GroupResult, as Celery's chord result has the header group as its parent.
import type { AsyncResult, ResultSource } from './async-result.js';
import { ChainResult } from './chain-result.js';
import type { GroupResult } from './group-result.js';

/** The body's result of a chord; `header` is the group whose results the body received. */
export class ChordResult<R = unknown> extends ChainResult<R> {
  constructor(
    id: string,
    source: ResultSource,
    /** Steps of a chain body before its last (empty for a one-task body). */
    parents: readonly AsyncResult[],
    /** The header's results, in header order. */
    readonly header: GroupResult,
  ) {
    super(id, source, parents);
  }
}

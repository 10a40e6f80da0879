// Waiting for a result, pushed: subscribe to the task key's channel (Celery publishes every store
// there), then GET, so a store between the two is seen either way; resolve on the first final
// state. After the pub/sub connection comes back, GET again: a store made while it was down was
// published to nobody.
import type { ResultRecord } from '../../../shared/frames.js';
import { READY_STATES, type TaskState } from '../../../shared/task-states.js';
import { taskKey } from './keys.js';
import { recordOf } from './stored-meta.js';
import type { Subscriber } from './subscriber.js';

/** setTimeout's largest delay (about 24.8 days); longer waits end there with the record as it is. */
const MAX_TIMER = 2_147_483_647;

/** What a wait needs: the pub/sub connection, a read of the record, and the content type to assume. */
export interface WaitDeps {
  subscriber: Subscriber;
  get(taskId: string): Promise<ResultRecord | null>;
  fallbackType: string;
  /** Registers the wait's end-by-close (the backend closing rejects it); returns its remover. */
  track(close: (err: Error) => void): () => void;
}

const isFinal = (rec: ResultRecord | null): boolean => rec !== null && READY_STATES.has(rec.state as TaskState);

/**
 * Resolves with the task's record once final, or after `timeout` ms with the record as it is then
 * (null when unknown). An id unknown at the start is answered at once, as broker-server does: every
 * task celeriac sends is registered PENDING before it is published, so waiting would not make it
 * appear. One that disappears during the wait (Redis restarted empty) is waited for to the end.
 */
export function waitForResult(deps: WaitDeps, taskId: string, timeout: number): Promise<ResultRecord | null> {
  if (timeout <= 0) return deps.get(taskId);
  return new Promise((resolve, reject) => {
    let done = false;
    let last: ResultRecord | null | undefined;
    let stop: (() => void) | undefined;
    const offResubscribed = deps.subscriber.onResubscribed(() => { void recheck(); });
    const untrack = deps.track((err) => end(() => reject(err)));
    const end = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      offResubscribed();
      untrack();
      stop?.();
      fn();
    };
    const recheck = async (): Promise<void> => {
      try {
        const rec = await deps.get(taskId);
        if (done) return;
        if (rec !== null || last === undefined) last = rec;
        if (isFinal(rec)) end(() => resolve(rec));
      } catch {
        // Redis away: the wait goes on, the next reconnect or the timer reads again.
      }
    };
    const timer = setTimeout(() => {
      deps.get(taskId).then((rec) => end(() => resolve(rec)), (err: unknown) => {
        end(() => (last === undefined ? reject(err) : resolve(last)));
      });
    }, Math.min(timeout, MAX_TIMER));
    deps.subscriber.subscribe(taskKey(taskId), (payload) => {
      const rec = recordOf(taskId, payload, deps.fallbackType);
      last = rec;
      if (isFinal(rec)) end(() => resolve(rec));
    }).then(async (unsubscribe) => {
      stop = unsubscribe;
      if (done) {
        unsubscribe();
        return;
      }
      const rec = await deps.get(taskId);
      if (done) return;
      last = rec;
      if (rec === null || isFinal(rec)) end(() => resolve(rec));
    }).catch((err: unknown) => end(() => reject(err)));
  });
}

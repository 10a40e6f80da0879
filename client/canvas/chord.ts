// chord(header, body): a group whose results, in header order, go to `body` as its first argument
// once every member is final. The broker holds the body's message and publishes it exactly once
// when it counted the last member's result; the worker then reads the results (CHORD_HEADER).
import { newTaskId } from '../../shared/messages/task-id.js';
import { fail } from '../../shared/errors.js';
import { AsyncResult } from '../results/async-result.js';
import { ChainResult } from '../results/chain-result.js';
import { ChordResult } from '../results/chord-result.js';
import { GroupResult, NO_RESULTS } from '../results/group-result.js';
import type { PreparedTask } from '../tasks/producer.js';
import type { CallOptions } from '../tasks/types.js';
import { appOf, type CanvasApp } from './canvas-app.js';
import { Chain } from './chain.js';
import { Group } from './group.js';
import { Signature } from './signature.js';
import { frozen, groupExpiry, idOf, memberOptions, prepareStep, registerPending, storesResult, withChordHeaders } from './steps.js';

/** A chord's body: a signature, or a chain whose first step gets the header's results. */
export type ChordBody<R> = Signature<R> | Chain<R>;

/** A chord, typed by its body's result `R`. */
export class Chord<R = unknown> {
  /** What it is, for chains (which cannot import this class without a cycle). */
  readonly kind = 'chord' as const;
  /** The header's members, in order (their results reach the body in this order). */
  readonly header: readonly Signature[];

  constructor(header: Group | readonly Signature[], readonly body: ChordBody<R>) {
    this.header = header instanceof Group ? header.members : new Group(header).members;
    if (!(body instanceof Signature) && !(body instanceof Chain)) {
      throw fail('ERR_INVALID_ARGUMENT', 'a chord body must be a signature or a chain: a group or chord as a chord body is not supported yet');
    }
    if (body instanceof Chain && body.nested) {
      throw fail('ERR_INVALID_ARGUMENT', 'a chord body that is a chain holding a group is not supported yet: put the chord in the chain instead');
    }
  }

  /** Sends the chord; `args` go in front of each header member's own. */
  delay(...args: unknown[]): Promise<ChordResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Declares the group in the broker with the body's message as its callback, then sends the
   * header (`args` and `options` apply to every member). Resolves once all are confirmed, with
   * the body's result (a chain body: its last step's), whose `header` is the header's GroupResult.
   * An empty header sends the body at once with [] (as Celery does).
   */
  async applyAsync(args: readonly unknown[] = [], options: CallOptions = {}): Promise<ChordResult<R>> {
    const body = this.body;
    if (this.header.length === 0) {
      const r = await body.applyAsync([[]]);
      const source = body.app ?? NO_RESULTS;
      return new ChordResult<R>(r.id, source, r instanceof ChainResult ? r.parents : [], new GroupResult(newTaskId(), [], NO_RESULTS));
    }
    const app = appOf([...this.header, body], 'chord');
    const groupId = newTaskId();
    const members = this.header.map((m) => frozen(m));
    const { prepared, pending, result } = this.prepareBody(app, groupId);
    const { transport, results: backend } = await app.link();
    // The backend publishes the body: its queue must exist by then.
    await app.declarer.ensure(transport, prepared.queue);
    await registerPending(app, backend, pending);
    await backend.declareGroup(groupId, members.map(idOf), { callback: prepared.publish, ...groupExpiry(app) });
    const call = memberOptions(options);
    const results = await Promise.all(members.map((m, i) => m.applyAsync(args, { ...call, groupId, groupIndex: i })));
    return new ChordResult<R>(result.id, app, result instanceof ChainResult ? result.parents : [], new GroupResult(groupId, results, app));
  }

  /** The body's message (with the chord header naming the group), ids to register PENDING, and its result. */
  private prepareBody(app: CanvasApp, groupId: string): { prepared: PreparedTask; pending: string[]; result: AsyncResult<R> } {
    const body = this.body;
    if (body instanceof Chain) {
      const plan = body.plan();
      return {
        prepared: body.prepare(app, plan, { headers: withChordHeaders(plan.steps[0]!, groupId) }),
        pending: plan.steps.slice(1).filter((s) => storesResult(app, s)).map(idOf),
        result: body.resultOf(app, plan),
      };
    }
    const sig = frozen(body);
    const prepared = prepareStep(app, sig, { ...sig.options, headers: withChordHeaders(sig, groupId) });
    return { prepared, pending: [], result: new AsyncResult<R>(idOf(sig), app) };
  }
}

/**
 * A group whose results go to `body` once all are final:
 * `await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()` → the body's result (6). If a header
 * member fails, the body fails with ERR_CHORD_FAILED instead of running.
 */
export function chord<R>(header: Group | readonly Signature[], body: ChordBody<R>): Chord<R> {
  return new Chord<R>(header, body);
}

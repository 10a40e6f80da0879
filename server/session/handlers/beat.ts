// Handlers for beat: schedule entries (upsert, remove, pause, list, watch), the leader lease and
// fires. Writes are answered once committed; a fire's publishes are checked as a finish's are.
import type {
  BeatAdvanceFrame, BeatFireFrame, LeaseAcquireFrame, LeaseReleaseFrame, ScheduleListFrame, SchedulePauseFrame, ScheduleRemoveFrame,
  ScheduleUpsertFrame, ScheduleWatchFrame,
} from '../../../shared/frames.js';
import type { CeleriacError } from '../../../shared/errors.js';
import type { ScheduleUpsertOptions } from '../../engine/types.js';
import type { HandlerContext } from '../context.js';
import { checkBodySize } from './body-size.js';
import { readPublish } from './finish.js';

/** The answer of request `id` once the engine's writes are committed. */
function answer<T>(ctx: HandlerContext, id: number): (err: CeleriacError | null, result?: T) => void {
  return ctx.inProgress((err: CeleriacError | null, result?: T) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id, result);
  });
}

export function scheduleUpsert(ctx: HandlerContext, f: ScheduleUpsertFrame): void {
  const options: ScheduleUpsertOptions = {};
  if (f.source !== undefined) options.source = f.source;
  if (f.nextRunAt !== undefined) options.nextRunAt = f.nextRunAt;
  if (f.resetState !== undefined) options.resetState = f.resetState;
  ctx.engine.beat.upsert(ctx.conn, f.name, f.spec, options, answer(ctx, f.id));
}

export function scheduleRemove(ctx: HandlerContext, f: ScheduleRemoveFrame): void {
  ctx.engine.beat.remove(ctx.conn, f.name, answer(ctx, f.id));
}

export function schedulePause(ctx: HandlerContext, f: SchedulePauseFrame): void {
  ctx.engine.beat.pause(ctx.conn, f.name, f.paused, answer(ctx, f.id));
}

export function scheduleList(ctx: HandlerContext, f: ScheduleListFrame): void {
  ctx.reply(f.id, ctx.engine.beat.list(ctx.conn, f.names));
}

export function scheduleWatch(ctx: HandlerContext, f: ScheduleWatchFrame): void {
  ctx.engine.beat.watch(ctx.conn, f.watch);
  ctx.reply(f.id);
}

export function leaseAcquire(ctx: HandlerContext, f: LeaseAcquireFrame): void {
  ctx.engine.beat.acquireLease(ctx.conn, f.name, f.holder, f.ttl, answer(ctx, f.id));
}

export function leaseRelease(ctx: HandlerContext, f: LeaseReleaseFrame): void {
  ctx.engine.beat.releaseLease(ctx.conn, f.name, f.holder, f.epoch, answer(ctx, f.id));
}

export function beatFire(ctx: HandlerContext, f: BeatFireFrame): void {
  const publishes = f.publishes.map((p, i) => readPublish(p as unknown as Record<string, unknown>, i, 'beatFire frame'));
  for (let i = 0; i < publishes.length; i++) checkBodySize(ctx, publishes[i]!.body, 'the body of beatFire publish', i);
  if (publishes.length > 0) ctx.markPublisher();
  const { op: _op, id, ...req } = f;
  ctx.engine.beat.fire(ctx.conn, { ...req, publishes }, answer(ctx, id));
}

export function beatAdvance(ctx: HandlerContext, f: BeatAdvanceFrame): void {
  const { op: _op, id, ...req } = f;
  ctx.engine.beat.advance(ctx.conn, req, answer(ctx, id));
}

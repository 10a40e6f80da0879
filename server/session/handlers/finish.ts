// The finish handler: checks the shape of what the wire brought (maps inside the frame are not
// typed by the codec), then lets the engine ack, store and publish in one transaction.
import { fail } from '../../../shared/errors.js';
import type { FinishFrame, FinishPublish, FinishResult, MessageProperties, ResultStoreOptions, TrackOptions } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';
import { checkBodySize } from './body-size.js';

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
const absent = (v: unknown): boolean => v === undefined || v === null;

function bad(what: string, where = 'finish frame'): never {
  throw fail('ERR_MALFORMED_FRAME', `${where}: ${what}`);
}

function readResult(r: Record<string, unknown>): FinishResult {
  if (typeof r.taskId !== 'string' || typeof r.state !== 'string') bad("'result' needs a string taskId and state");
  if (!absent(r.body) && !(r.body instanceof Uint8Array)) bad("'result.body' must be binary");
  if (!absent(r.options) && !isMap(r.options)) bad("'result.options' must be a map");
  const out: FinishResult = { taskId: r.taskId, state: r.state };
  if (r.body instanceof Uint8Array) out.body = r.body;
  if (isMap(r.options)) out.options = r.options as ResultStoreOptions;
  // What /metrics counts the outcome under: the task's name and the run's seconds.
  if (!absent(r.task) && typeof r.task !== 'string') bad("'result.task' must be a string (the task's name)");
  if (!absent(r.runtime) && (typeof r.runtime !== 'number' || !Number.isFinite(r.runtime) || r.runtime < 0)) bad("'result.runtime' must be a number of seconds >= 0");
  if (typeof r.task === 'string') out.task = r.task;
  if (typeof r.runtime === 'number') out.runtime = r.runtime;
  return out;
}

/** Checks one publish map of a finish (or a group's callback) and types it. */
export function readPublish(p: Record<string, unknown>, i: number, where = 'finish frame'): FinishPublish {
  if (typeof p.exchange !== 'string' || typeof p.routingKey !== 'string' || !(p.body instanceof Uint8Array)) {
    bad(`publishes[${i}] needs a string exchange and routingKey and a binary body`, where);
  }
  if (!absent(p.props) && !isMap(p.props)) bad(`publishes[${i}].props must be a map`, where);
  if (!absent(p.track) && !isMap(p.track)) bad(`publishes[${i}].track must be a map`, where);
  const out: FinishPublish = { exchange: p.exchange, routingKey: p.routingKey, body: p.body };
  if (isMap(p.props)) out.props = p.props as MessageProperties;
  if (isMap(p.track)) out.track = p.track as unknown as TrackOptions;
  return out;
}

export function finish(ctx: HandlerContext, f: FinishFrame): void {
  const publishes = (f.publishes ?? []).map((p, i) => readPublish(p as unknown as Record<string, unknown>, i));
  for (let i = 0; i < publishes.length; i++) checkBodySize(ctx, publishes[i]!.body, 'the body of finish publish', i);
  const result = f.result === undefined ? undefined : readResult(f.result as unknown as Record<string, unknown>);
  if (result?.body !== undefined) checkBodySize(ctx, result.body, 'the result of task', result.taskId);
  const req = {
    ...(f.ack === undefined ? {} : { ack: f.ack }),
    ...(result === undefined ? {} : { result }),
    publishes,
  };
  if (publishes.length > 0) ctx.markPublisher();
  const id = f.id;
  ctx.engine.finish(ctx.conn, req, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id);
  }));
}

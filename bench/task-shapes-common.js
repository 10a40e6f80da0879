// Pieces both task adapters use to drive a shape: lanes of one-at-a-time sends, the sum check of
// add(i, 1) results, and a paced background producer (the latency-under-load shape).
import { now } from './harness.js';

/**
 * How long one stamp task (the load shape's foreground) may take: long, because a shared machine
 * can fall behind the background producer's pace for a while and queue the stamp behind a backlog.
 */
export const STAMP_TIMEOUT_MS = 60_000;
/**
 * How long the load shape's foreground loop runs at most: a side that falls behind its background
 * producer (a growing backlog) completes fewer calls, and the count done is reported.
 */
export const STAMP_BUDGET_MS = 60_000;

/** Throws when the values of add(i, 1) for i < count do not sum as they should. */
export function checkSum(side, values, count) {
  let sum = 0;
  for (const v of values) sum += Number(v);
  const expected = (count * (count - 1)) / 2 + count;
  if (sum !== expected) throw new Error(`${side}: results sum to ${sum}, expected ${expected}`);
}

/**
 * Runs `send(i)` for i < count from `lanes` loops at once, each awaiting its send before taking the
 * next i (so at most `lanes` in flight, each awaited on its own). Resolves with each send's
 * latency in ms (indexed by i).
 */
export async function runLanes(count, lanes, send) {
  const latencies = new Float64Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const t = now();
      await send(i);
      latencies[i] = now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
  return latencies;
}

/** Sends in flight at most, so a producer that cannot keep the pace does not pile up without bound. */
const MAX_IN_FLIGHT = 2_000;
/** The pacer's tick: each tick sends what the elapsed time is due (a small burst). */
const TICK_MS = 5;

/**
 * Starts sending `send(i)` at `rate` per second, open loop: every TICK_MS it sends the tasks the
 * elapsed time is due, whether or not earlier ones are confirmed (up to MAX_IN_FLIGHT). Returns
 * { stop() }: stop() ends the sending, waits for the sends in flight and resolves with { sent,
 * seconds, rate (achieved), behind (tasks it was due and could not send: in-flight cap) }.
 */
export function paced(rate, send) {
  const t0 = now();
  let sent = 0, inFlight = 0, behind = 0, failure, stopped = false;
  const settled = new Set();
  const tick = () => {
    if (stopped) return;
    const due = Math.floor((rate * (now() - t0)) / 1000);
    while (sent < due && inFlight < MAX_IN_FLIGHT) {
      inFlight++;
      const p = Promise.resolve(send(sent++)).then(() => { inFlight--; settled.delete(p); }, (err) => { failure ??= err; inFlight--; settled.delete(p); });
      settled.add(p);
    }
    if (sent < due) { behind += due - sent; sent = due; }
    timer = setTimeout(tick, TICK_MS);
  };
  let timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const seconds = (now() - t0) / 1000;
      await Promise.all([...settled]);
      if (failure) throw failure;
      return { sent: sent - behind, seconds, rate: (sent - behind) / seconds, behind };
    },
  };
}

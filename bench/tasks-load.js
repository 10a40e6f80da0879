// Latency under load (issue 13, item 4): while a background producer keeps a side at half of the
// rate it can sustain, a foreground loop sends one `tasks.stamp` task at a time and measures
// publish → deliver (the task's start in the worker minus its send, both wall clocks of this
// machine; the task returns it) and the round trip (send → result back at the producer).
//
// The background producer is paced, open loop (tasks-shapes-common.js paced(): every 5 ms the
// tasks the elapsed time is due, each awaited for its confirm only, results never read:
// `tasks.add_quiet`), so the broker's load does not slow down when it falls behind.
import { fmt, settle, sleep, withTimeout } from './harness.js';
import { spread } from './tasks-measure.js';

/** The share of the side's sustained rate the background producer sends at. */
export const LOAD_SHARE = 0.5;
/** How long the background producer runs before the foreground loop starts (queues and caches warm). */
const LEAD_MS = 1_000;

/**
 * Runs the load shape on `producer` (an adapter's) given the side's sustained rate `maxRate`
 * (tasks/s, its fire-and-forget shape's median run): `calls` foreground stamp tasks while the background
 * producer sends at LOAD_SHARE × maxRate. Returns { maxRate, target, background: { sent, rate,
 * behind }, calls (done), deliver: { p50, p99, max }, roundTrip: { p50, p99, max } } (ms).
 */
export async function measureLoad(producer, maxRate, calls, label, log) {
  await settle();
  const target = Math.max(1, Math.round(maxRate * LOAD_SHARE));
  const background = producer.background(target);
  let fg, bg;
  try {
    await sleep(LEAD_MS);
    fg = await withTimeout(producer.stampCalls(calls), 180_000, `${label} stamp calls under load`);
  } finally {
    bg = await background.stop();
  }
  const out = { maxRate, target, background: { sent: bg.sent, rate: bg.rate, behind: bg.behind }, calls: fg.total.length, deliver: spread(fg.deliver), roundTrip: spread(fg.total) };
  log(`${label.padEnd(18)} under load, ${fmt(out.calls)} calls, ${fmt(bg.rate)} tasks/s (target ${fmt(target)} = ${LOAD_SHARE * 100} % of ${fmt(maxRate)}): ` +
    `publish → deliver p50 ${fmt(out.deliver.p50, 2)} / p99 ${fmt(out.deliver.p99, 2)} ms, round trip p50 ${fmt(out.roundTrip.p50, 2)} / p99 ${fmt(out.roundTrip.p99, 2)} ms`);
  return out;
}

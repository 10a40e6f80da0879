// The progress line of a long queue operation, on a fake terminal stream: drawn at once, redrawn
// in place with the count each poll brings, cut to the terminal's width, erased by stop(); on a
// stream that is not a terminal nothing is written and nothing polled.
import t from 'tap';
import { startProgress, type ProgressStream } from '../../client/cli/progress.js';
import { sleep, until } from '../helpers/wait.js';

const CLEAR = '\r\x1b[K';

function fakeStream(isTerminal: boolean, columns?: number): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return { isTerminal, ...(columns === undefined ? {} : { columns }), writes, write: (text) => { writes.push(text); } };
}

t.test('on a terminal: a first frame at once, the polled count, then the line erased', async (t) => {
  const stream = fakeStream(true);
  const counts = [900, 400, 0];
  let polls = 0;
  let clock = 10_000;
  const progress = startProgress(stream, {
    label: 'purging queue jobs', unit: ['ready message left', 'ready messages left'], initial: 1200, frameMs: 5, pollMs: 5, now: () => clock,
    poll: async () => counts[Math.min(polls++, counts.length - 1)],
  });
  t.equal(stream.writes[0], `${CLEAR}⠋ purging queue jobs — 1,200 ready messages left (0.0s)`, 'the first frame, before any poll');
  clock += 2_500;
  await until(() => stream.writes.some((w) => w.includes('— 0 ready messages left')), 5_000, 'the last polled count drawn');
  progress.stop();
  const frames = stream.writes.slice(0, -1);
  t.ok(frames.every((w) => w.startsWith(CLEAR)), 'every frame redraws the same line in place');
  t.ok(frames.some((w) => w.includes('— 900 ready messages left (2.5s)')), 'counts come from the polls, with the time spent');
  t.ok(new Set(frames.map((w) => w[CLEAR.length])).size > 1, 'the spinner turns');
  t.equal(stream.writes.at(-1), CLEAR, 'stop() erases the line');
  const after = stream.writes.length;
  const pollsAfter = polls;
  progress.stop();
  await sleep(30);
  t.equal(stream.writes.length, after, 'nothing drawn after stop (a second stop is a no-op)');
  t.ok(polls <= pollsAfter + 1, 'polling ends (at most the one in flight)');
});

t.test('a failed or unknown poll keeps the line going; the line fits the terminal', async (t) => {
  const stream = fakeStream(true, 40);
  let polls = 0;
  const progress = startProgress(stream, {
    label: 'deleting queue q', unit: ['message left', 'messages left'], initial: 5, frameMs: 5, pollMs: 5,
    poll: async () => {
      polls++;
      if (polls === 1) throw new Error('the broker is busy');
      return undefined;
    },
  });
  await until(() => polls >= 3, 5_000, 'three polls');
  // The queue is gone (the poll answers undefined): the line goes on without a count.
  await until(() => stream.writes.some((w) => /^\r\x1b\[K. deleting queue q \(\d+\.\ds\)$/.test(w)), 5_000, 'a frame without a count');
  progress.stop();
  t.equal(stream.writes[0], `${CLEAR}⠋ deleting queue q — 5 messages left (0`, 'a line longer than the terminal is cut to its width less one');
  t.ok(stream.writes.every((w) => w.length - CLEAR.length <= 39), 'every frame fits in 39 columns');
});

t.test('not a terminal: nothing written, never polled', async (t) => {
  const stream = fakeStream(false);
  let polls = 0;
  const progress = startProgress(stream, { label: 'purging queue jobs', unit: ['ready message left', 'ready messages left'], initial: 3, frameMs: 1, pollMs: 1, poll: async () => { polls++; return 0; } });
  await sleep(30);
  progress.stop();
  t.strictSame(stream.writes, []);
  t.equal(polls, 0);
});

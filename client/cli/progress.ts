// A progress line for a long operation (a purge or delete of a deep queue) on a terminal: a
// spinner, what is being done, the count left (polled while the request runs) and the time spent,
// redrawn in place on stderr and erased when done. Not a terminal: nothing is written at all.
import { formatCount } from './table.js';

/** Where the line goes: stderr, and whether it is a terminal (a fake one in tests). */
export interface ProgressStream {
  readonly isTerminal: boolean;
  /** Terminal width; the line is cut to fit so that redrawing it in place works. */
  readonly columns?: number;
  write(text: string): void;
}

/** What the line shows and how it learns the count. */
export interface ProgressOptions {
  /** What is being done: 'purging queue jobs'. */
  readonly label: string;
  /** The count left (messages in the queue), asked for while the operation runs; undefined = unknown (gone). */
  readonly poll: () => Promise<number | undefined>;
  /** The count known at the start (shown in the first frame, before any poll answered). */
  readonly initial?: number;
  /** What the count counts, for one and for several: ['message left', 'messages left']. */
  readonly unit: readonly [one: string, many: string];
  /** Redraw interval, ms (default 100: the spinner turns). */
  readonly frameMs?: number;
  /** Pause between two polls, ms (default 500: one request at a time, so a busy broker is not flooded). */
  readonly pollMs?: number;
  /** The clock, ms (default Date.now). */
  readonly now?: () => number;
}

/** A running progress line. */
export interface Progress {
  /** Stops redrawing and polling and erases the line. Safe to call twice. */
  stop(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
/** Carriage return, then erase to the end of the line (ANSI EL). */
const CLEAR = '\r\x1b[K';

/**
 * Shows the line on `stream` until stop(): the first frame at once, then a redraw every `frameMs`
 * and a poll after each answer plus `pollMs`. On a stream that is not a terminal it does nothing
 * (and never polls), so piped output and logs stay clean.
 */
export function startProgress(stream: ProgressStream, options: ProgressOptions): Progress {
  if (!stream.isTerminal) return { stop: () => undefined };
  const now = options.now ?? Date.now;
  const started = now();
  let left = options.initial;
  let frame = 0;
  let stopped = false;
  let pollTimer: NodeJS.Timeout | undefined;

  const draw = (): void => {
    const seconds = ((now() - started) / 1000).toFixed(1);
    const what = left === undefined ? '' : ` — ${formatCount(left)} ${options.unit[left === 1 ? 0 : 1]}`;
    let line = `${SPINNER[frame++ % SPINNER.length]} ${options.label}${what} (${seconds}s)`;
    if (stream.columns !== undefined && stream.columns > 1 && line.length >= stream.columns) line = line.slice(0, stream.columns - 1);
    stream.write(`${CLEAR}${line}`);
  };
  const poll = (): void => {
    options.poll().then((n) => { left = n; }, () => { /* a failed poll keeps the last count; the operation reports its own errors */ }).finally(() => {
      if (!stopped) pollTimer = setTimeout(poll, options.pollMs ?? 500).unref();
    });
  };

  draw();
  // Timers are unref'd: a forgotten line must not keep the process alive.
  const frameTimer = setInterval(draw, options.frameMs ?? 100);
  frameTimer.unref();
  pollTimer = setTimeout(poll, options.pollMs ?? 500).unref();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(frameTimer);
      clearTimeout(pollTimer);
      stream.write(CLEAR);
    },
  };
}

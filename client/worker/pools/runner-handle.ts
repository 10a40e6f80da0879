// The parent's handle on one isolated runner: starts a worker thread or a forked child process on
// the compiled runner entry, and gives both the same face (id, send, kill, message and exit events).
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CeleriacError } from '../../../shared/errors.js';
import type { FromRunner, ToRunner } from './runner-protocol.js';

/** The two kinds of isolated runner. */
export type RunnerKind = 'threads' | 'processes';

/** One live runner as the pool sees it. */
export interface RunnerHandle {
  /** The child's pid (processes) or the thread's threadId (threads). */
  readonly id: number;
  /** Sends a message; silently dropped once the runner is gone. Throws when `msg` is not cloneable. */
  send(msg: ToRunner): void;
  /**
   * Stops the runner now. Threads: worker.terminate() (the signal does not apply). Processes: the
   * signal (default SIGKILL); any other signal is followed by SIGKILL if the child still lives 3 s later.
   */
  kill(signal?: NodeJS.Signals): void;
  onMessage(handler: (msg: FromRunner) => void): void;
  /** Called once when the runner has ended, with a phrase saying how ("exited with code 3"). */
  onExit(handler: (why: string) => void): void;
  /** Resolves when the runner has ended. */
  readonly exited: Promise<void>;
}

const ENTRIES: Record<RunnerKind, string> = { threads: 'thread-runner.js', processes: 'process-runner.js' };

/**
 * Where the compiled runner entry is. Beside this file when it runs compiled
 * (dist/client/worker/pools/); when it runs from its .ts source under a TypeScript loader (tests),
 * the compiled copy in dist/, because that loader does not reliably reach into threads and children.
 */
export function runnerEntry(kind: RunnerKind): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL(`../../../dist/client/worker/pools/${ENTRIES[kind]}`, here)
    : new URL(`./${ENTRIES[kind]}`, here);
}

/** Checks that the runner entry was built; the error says what to do. */
export function assertRunnerEntry(kind: RunnerKind): URL {
  const url = runnerEntry(kind);
  if (!existsSync(fileURLToPath(url))) {
    throw new CeleriacError('ERR_INVALID_ARGUMENT', `the ${kind} pool's runner ${fileURLToPath(url)} is missing: run \`npm run build\``);
  }
  return url;
}

/** Node flags the runners inherit, minus debugger ports, which a second process cannot share. */
function inheritedExecArgv(): string[] {
  return process.execArgv.filter((a) => !/^--inspect(-brk|-port|-wait)?(=|$)/.test(a) && !/^--debug-port(=|$)/.test(a));
}

/** Starts one runner of `kind` on its compiled entry. */
export function spawnRunner(kind: RunnerKind, entry: URL): RunnerHandle {
  return kind === 'threads' ? spawnThread(entry) : spawnProcess(entry);
}

function spawnThread(entry: URL): RunnerHandle {
  const worker = new Worker(entry, { execArgv: inheritedExecArgv() });
  let gone = false;
  let lastError: Error | null = null;
  let exitHandler: ((why: string) => void) | null = null;
  let resolveExited!: () => void;
  const exited = new Promise<void>((r) => { resolveExited = r; });
  // An uncaught error ends the thread; remember it so the exit can say why.
  worker.on('error', (err) => { lastError = err; });
  worker.on('exit', (code) => {
    gone = true;
    const why = lastError !== null ? `crashed: ${lastError.name}: ${lastError.message}` : `exited with code ${code}`;
    exitHandler?.(why);
    resolveExited();
  });
  return {
    id: worker.threadId,
    send(msg) { if (!gone) worker.postMessage(msg); },
    kill() { if (!gone) void worker.terminate(); },
    onMessage(handler) { worker.on('message', handler); },
    onExit(handler) { exitHandler = handler; },
    exited,
  };
}

function spawnProcess(entry: URL): RunnerHandle {
  // stdin is a pipe nobody writes to: its end tells the runner's watchdog thread that this
  // process died (parent-watch.ts). Output goes where the worker's goes.
  const child = fork(fileURLToPath(entry), [], { serialization: 'advanced', execArgv: inheritedExecArgv(), stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
  child.stdin?.on('error', () => undefined);
  let gone = false;
  let lastError: Error | null = null;
  let exitHandler: ((why: string) => void) | null = null;
  let escalate: NodeJS.Timeout | null = null;
  let resolveExited!: () => void;
  const exited = new Promise<void>((r) => { resolveExited = r; });
  child.on('error', (err) => { lastError = err; });
  child.on('exit', (code, signal) => {
    gone = true;
    if (escalate !== null) clearTimeout(escalate);
    const why = signal !== null ? `killed by ${signal}` : lastError !== null && code === null ? `failed: ${lastError.message}` : `exited with code ${code}`;
    exitHandler?.(why);
    resolveExited();
  });
  return {
    id: child.pid ?? -1,
    send(msg) {
      // Delivery errors (the channel closed meanwhile) surface as the exit; only cloning throws.
      if (!gone && child.connected) child.send(msg, () => undefined);
    },
    kill(signal = 'SIGKILL') {
      if (gone) return;
      child.kill(signal);
      if (signal !== 'SIGKILL' && escalate === null) escalate = setTimeout(() => { if (!gone) child.kill('SIGKILL'); }, 3_000);
    },
    onMessage(handler) { child.on('message', (msg) => handler(msg as FromRunner)); },
    onExit(handler) { exitHandler = handler; },
    exited,
  };
}

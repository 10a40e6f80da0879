// Programs the tests run beside them (RabbitMQ, Redis, epmd, Celery workers, rabbitmqctl): started
// so that none outlives the test, waited on with timeouts, stopped by their own PIDs.
import { spawn, type ChildProcess } from 'node:child_process';

/** How a process ended. */
export interface Exit { code: number | null; signal: NodeJS.Signals | null }

/** A long-running program started by `startService`. */
export interface Service {
  /** Its PID; also the id of the process group it leads (its own children are in that group). */
  readonly pid: number;
  /** stdout and stderr as they interleaved (the last 1 MiB). */
  output(): string;
  /** stdout alone (the last 1 MiB): what a program prints for its caller to parse. */
  stdout(): string;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  /** True until the process has exited. */
  running(): boolean;
  /** Resolves once `pattern` appears in the output; rejects after `ms`, or at once if the process exits first. */
  waitForOutput(pattern: RegExp, ms: number, what: string): Promise<void>;
  /**
   * SIGTERM to the process (its own graceful shutdown); after `graceMs` without an exit, SIGKILL
   * to its whole group. Afterwards any member of its group still alive is killed too.
   */
  stop(graceMs?: number): Promise<Exit>;
}

/** Options of `startService` / `runCommand`. */
export interface SpawnOptions {
  /** The complete environment (nothing is inherited implicitly). */
  env: Record<string, string>;
  cwd?: string;
}

const OUTPUT_LIMIT = 1 << 20;
/** Groups of services still running: SIGKILLed if this process exits without its teardown. */
const live = new Set<number>();
let exitHookSet = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already empty, which is what we want.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function spawnGuarded(command: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  if (!exitHookSet) {
    exitHookSet = true;
    process.once('exit', () => { for (const pid of live) killGroup(pid, 'SIGKILL'); });
  }
  // setpriv asks the kernel to SIGTERM the program when this test process dies, even by SIGKILL
  // (a tap timeout), when neither teardown nor the exit hook runs; it then execs the program, so the
  // PID is the program's. `detached` makes it a process-group leader, so a last-resort kill also
  // reaches what it forked (Erlang's helpers, Celery's pool processes) and nothing else.
  return spawn('/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', command, ...args], {
    env: opts.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `command` with `args` as a service (see `Service`); a failure to spawn shows in `exited` and `output`. */
export function startService(command: string, args: readonly string[], opts: SpawnOptions): Service {
  const child = spawnGuarded(command, args, opts);
  const pid = child.pid;
  let out = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  const append = (chunk: string): void => {
    out += chunk;
    if (out.length > OUTPUT_LIMIT) out = out.slice(out.length - OUTPUT_LIMIT);
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.length > OUTPUT_LIMIT) stdout = stdout.slice(stdout.length - OUTPUT_LIMIT);
    append(chunk);
  });
  child.stderr!.setEncoding('utf8').on('data', append);
  let done: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => { append(`\n[spawn error] ${err.message}\n`); });
    // 'close' (not 'exit'): the output pipes are drained by then, so `output()` is complete.
    child.once('close', (code, signal) => {
      done = { code, signal };
      if (pid !== undefined) live.delete(pid);
      for (const l of listeners) l();
      resolve(done);
    });
  });
  if (pid !== undefined) live.add(pid);

  const waitForOutput = (pattern: RegExp, ms: number, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (err) reject(err); else resolve();
      };
      const check = (): void => {
        if (pattern.test(out)) finish();
        else if (done) finish(new Error(`${what}: the process exited (${done.code ?? done.signal}) first; its output:\n${out.slice(-4000)}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}; output so far:\n${out.slice(-4000)}`)), ms);
      listeners.add(check);
      check();
    });

  const stop = async (graceMs = 10_000): Promise<Exit> => {
    if (pid === undefined) return exited;
    if (!done) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => { timer = setTimeout(() => r(false), graceMs); }),
      ]);
      clearTimeout(timer);
      if (!graceful) killGroup(pid, 'SIGKILL');
    }
    const exit = await exited;
    // A member that outlived its leader (a pool process, an Erlang port program) goes too.
    killGroup(pid, 'SIGKILL');
    return exit;
  };

  return {
    get pid() {
      if (pid === undefined) throw new Error(`${command} did not start: ${out}`);
      return pid;
    },
    output: () => out,
    stdout: () => stdout,
    exited,
    running: () => done === undefined,
    waitForOutput,
    stop,
  };
}

/** What a finished command printed, and how it ended. */
export interface CommandResult extends Exit { stdout: string; stderr: string }

/**
 * Runs a short command to its end (rabbitmqctl, a Python snippet). Rejects after `timeoutMs`, having
 * killed the command's process group; resolves with the exit status otherwise (non-zero included).
 */
export async function runCommand(command: string, args: readonly string[], opts: SpawnOptions & { timeoutMs: number }): Promise<CommandResult> {
  const child = spawnGuarded(command, args, opts);
  if (child.pid !== undefined) live.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<CommandResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        reject(new Error(`timed out after ${opts.timeoutMs} ms: ${command} ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, opts.timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    if (child.pid !== undefined) live.delete(child.pid);
  }
}

// One built command (dist/) as a child process with a clean environment, shared by the
// broker-server and celeriac CLI tests: output collected, killed by its pid in teardown.
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { plainChildEnv } from '../helpers/plain-children.js';

/** A running (or finished) command. */
export interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node script ...args` in `cwd`; teardown kills this one child (by its pid) if a test left it running. */
export function spawnScript(t: Test, script: string, args: string[], opts: { env?: Record<string, string> | undefined; cwd: string }): Run {
  // CELERIAC_* from the caller's environment must not leak into what a test expects; nor tap's hooks.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(plainChildEnv())) if (!k.startsWith('CELERIAC_')) env[k] = v;
  const child = spawn(process.execPath, [script, ...args], { env: { ...env, ...opts.env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// Runs the built `celeriac` bin (dist/, built by `npm test` first) as a child process with a clean
// environment, collects its output, and kills it by pid in teardown. Every wait is bounded.
import type { Test } from 'tap';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnScript, within, type Run } from './process-helpers.js';

export const CLI = fileURLToPath(new URL('../../dist/client/cli/celeriac.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/cli-apps/', import.meta.url));
export const WAIT_MS = 20_000;

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

export type { Run };
export { within };

/** Spawns `celeriac ...args` in `cwd` (default: the fixtures directory); teardown kills it if still running. */
export function celeriac(t: Test, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Run {
  return spawnScript(t, CLI, args, { env: opts.env, cwd: opts.cwd ?? FIXTURES });
}

/** Waits for the process to exit by itself; its exit code and output. */
export async function finished(run: Run): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code } = await within(run.exited, WAIT_MS, 'celeriac exiting');
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Runs a command to its end. */
export function runCli(t: Test, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return finished(celeriac(t, args, opts));
}

/**
 * Runs independent commands two at a time (the machine's cores), answers in the order given. All at
 * once would let every one of them share the CPU for the whole run, so each could take as long as
 * all of them together and run past its own time limit on a busy machine.
 */
export async function runCliPair(t: Test, commands: string[][]): Promise<{ code: number | null; stdout: string; stderr: string }[]> {
  const results: { code: number | null; stdout: string; stderr: string }[] = [];
  for (let i = 0; i < commands.length; i += 2) {
    results.push(...await Promise.all(commands.slice(i, i + 2).map((args) => runCli(t, args))));
  }
  return results;
}

/** Resolves once `pattern` shows in the stream; rejects if the process exits first or time runs out. */
export async function waitForOutput(run: Run, stream: 'stdout' | 'stderr', pattern: RegExp, what: string): Promise<RegExpExecArray> {
  const seen = new Promise<RegExpExecArray>((res, rej) => {
    const read = stream === 'stdout' ? run.stdout : run.stderr;
    const check = (): void => {
      const m = pattern.exec(read());
      if (m) res(m);
    };
    run.child[stream]!.on('data', check);
    check();
    void run.exited.then(({ code, signal }) => rej(new Error(`exited (${code ?? signal}) before ${what}:\n${run.stdout()}${run.stderr()}`)));
  });
  return within(seen, WAIT_MS, what);
}

/** Starts `celeriac worker` and waits until it says it is ready. */
export async function startWorker(t: Test, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  const run = celeriac(t, ['worker', ...args], opts);
  await waitForOutput(run, 'stderr', / ready: queues /, 'the worker being ready');
  return run;
}

/** A port nothing listens on (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

let counter = 0;
/** A queue name no other test uses. */
export function uniqueQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/**
 * Runs independent commands `limit` at a time (each is a node process that mostly waits on its own
 * start-up); the results in the order given.
 */
export async function runAll<T>(jobs: ReadonlyArray<() => Promise<T>>, limit = 4): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  return results;
}

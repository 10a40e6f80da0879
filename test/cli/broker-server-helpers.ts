// The real `broker-server` command as a child process, for the CLI tests: spawn it (dist/, built
// by `npm test` first), wait for its listening line, collect how it exited.
import type { Test } from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnScript, within, type Run } from './process-helpers.js';

export const CLI = fileURLToPath(new URL('../../dist/server/cli/broker-server.js', import.meta.url));
export const WAIT_MS = 20_000;
const LISTENING = /^celeriac broker listening on (ws:\/\/127\.0\.0\.1:(\d+)) \((http:\/\/127\.0\.0\.1:\d+)\)(?: and (amqp:\/\/127\.0\.0\.1:\d+))?(?: and (amqps:\/\/127\.0\.0\.1:\d+))?, data (.+), durability (full|process)$/m;

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

/** A temp directory removed at the end of the test that made it. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spawns the command (in a temp dir unless `cwd` is given). */
export function start(t: Test, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Run {
  return spawnScript(t, CLI, args, { env: opts.env, cwd: opts.cwd ?? tmpdir() });
}

/** Resolves with the listening line's parts once printed; rejects if the process exits first. */
export async function listening(run: Run): Promise<{ ws: string; port: number; http: string; amqp: string | undefined; amqps: string | undefined; data: string; durability: string }> {
  const seen = new Promise<RegExpExecArray>((res, rej) => {
    const check = (): void => {
      const m = LISTENING.exec(run.stdout());
      if (m) res(m);
    };
    run.child.stdout!.on('data', check);
    check();
    void run.exited.then(({ code, signal }) => rej(new Error(`exited (${code ?? signal}) before listening:\n${run.stdout()}${run.stderr()}`)));
  });
  const m = await within(seen, WAIT_MS, 'broker-server printing its URLs');
  return { ws: m[1]!, port: Number(m[2]), http: m[3]!, amqp: m[4], amqps: m[5], data: m[6]!, durability: m[7]! };
}

/** Runs a command that must exit by itself; returns its exit code and output. */
export async function finished(run: Run): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code } = await within(run.exited, WAIT_MS, 'broker-server exiting');
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

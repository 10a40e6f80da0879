// Crash tests run a child that commits and prints the last id of each commit on its own line,
// written synchronously after the commit returned; the parent SIGKILLs it mid-run and then checks
// that everything the child reported survived.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { plainChildEnv } from './plain-children.js';

/**
 * Runs the test file at `moduleUrl` again as a child with `env` added, until it reported `commits`
 * lines; SIGKILLs it and returns the last id it reported. Rejects when the child exits on its own
 * or reports too few lines within 30 s.
 */
export async function commitThenKill(moduleUrl: string, env: Readonly<Record<string, string>>, commits: number): Promise<number> {
  // Keep the TypeScript loader tap gave us (the child is a .ts file); drop its coverage and mock
  // hooks, here and in NODE_OPTIONS (plainChildEnv), which only slow the child's start.
  const execArgv = process.execArgv.filter((a) => !a.includes('processinfo') && !a.includes('@tapjs/mock'));
  const child = spawn(process.execPath, [...execArgv, fileURLToPath(moduleUrl)], {
    env: plainChildEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return await new Promise<number>((resolve, reject) => {
    let buffered = '';
    let lastId = 0;
    let seen = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child reported ${seen} commits in 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        lastId = Number(line);
        seen++;
      }
      if (seen >= commits && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Lines still in the pipe were committed too; they were read above before 'exit'.
      if (signal === 'SIGKILL') resolve(lastId);
      else reject(new Error(`child exited with ${code ?? signal}; stderr: ${stderr}`));
    });
  });
}

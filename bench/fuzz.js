// How does the broker stand a long fuzz run? Runs the suite's seeded fuzzer
// (test/fuzz/broker-fuzz.test.ts: random, mutated and out-of-order frames, huge batches, deep
// nesting from several connections while a good client publishes and consumes) for minutes
// instead of seconds, through tap (it is TypeScript), and prints what it sent and saw.
// The broker runs in the test's process (startTestBroker), so RSS counts the clients as well.
// Run alone: node bench/fuzz.js [--quick] [--count SECONDS] [--seed N] [--connections N]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fmt, isMain, mb, table, tempDir } from './harness.js';

/** Seconds of fuzzing by default and with --quick. */
export const FUZZ_DEFAULTS = { seconds: 120, quickSeconds: 30, connections: 6, seed: 20_261_202 };

/** Runs the fuzz test for `seconds`; resolves with its report (and whether every assertion held). */
export async function run({ seconds, seed = FUZZ_DEFAULTS.seed, connections = FUZZ_DEFAULTS.connections }) {
  const dir = tempDir('fuzz');
  const reportFile = join(dir.path, 'report.json');
  try {
    const env = {
      ...process.env, FUZZ_MS: String(seconds * 1000), FUZZ_SEED: String(seed), FUZZ_CONNECTIONS: String(connections), FUZZ_REPORT: reportFile,
    };
    const tap = join(ROOT, 'node_modules/.bin/tap');
    const args = ['--disable-coverage', '--timeout', String(seconds + 120), '--reporter', 'terse', 'test/fuzz/broker-fuzz.test.ts'];
    const child = spawn(tap, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    let report;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8'));
    } catch {
      throw new Error(`the fuzz run wrote no report (tap exit ${code}):\n${output.slice(-4_000)}`);
    }
    return { ...report, passed: code === 0, output: code === 0 ? '' : output.slice(-4_000) };
  } finally {
    dir.remove();
  }
}

/** The report as tables. */
export function formatResults(r) {
  const inputs = Object.entries(r.inputs).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, fmt(n)]);
  const errors = Object.entries(r.errorCodes).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, fmt(n)]);
  return `Fuzz: ${fmt(r.durationMs / 1000)} s, seed ${r.seed}, ${r.connectionsAtOnce} hostile connections at once\n` +
    table(['input', 'messages'], [...inputs, ['total', `${fmt(r.messages)} (${mb(r.bytes)})`]]) + '\n\n' +
    table(['error answered', 'count'], errors) + '\n\n' +
    table(['figure', 'value'], [
      ['connections opened / closed by the broker', `${fmt(r.connections)} / ${fmt(r.closedByBroker)}`],
      ['broker messages that did not decode', fmt(r.undecodable)],
      ['ERR_INTERNAL answered', fmt(r.errorCodes.ERR_INTERNAL ?? 0)],
      ['good client: confirmed / received', `${fmt(r.goodConfirmed)} / ${fmt(r.goodReceived)}`],
      ['RSS at the start / after cleanup', `${mb(r.rssStart)} / ${mb(r.rssEnd)}`],
      ['heap in use at the start / after cleanup', `${mb(r.heapStart)} / ${mb(r.heapEnd)}`],
      ['every assertion of the test held', r.passed ? 'yes' : 'NO'],
    ]) + (r.passed ? '' : `\n\n${r.output}`);
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const take = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv.splice(i, 2)[1]) : undefined;
  };
  const seed = take('--seed');
  const connections = take('--connections');
  const { parseArgs } = await import('./harness.js');
  const opts = parseArgs(argv);
  const seconds = opts.count ?? (opts.quick ? FUZZ_DEFAULTS.quickSeconds : FUZZ_DEFAULTS.seconds);
  const results = await run({ seconds, seed, connections });
  console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
  if (!results.passed) process.exitCode = 1;
}

#!/usr/bin/env node
// The `celeriac` command: finds the sub-command, parses its flags (env vars as fallbacks), runs
// it and exits with its code. Failures are one line on stderr (stack at -l debug); bad usage exits 2.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closest } from '../app/suggest.js';
import type { LogLevel } from '../worker/worker.js';
import { commandUsage, overallUsage, parseCommandArgs, splitCommand, UsageError, type ParsedArgs } from './args.js';
import { COMMANDS } from './commands/index.js';
import type { CommandContext } from './context.js';
import { describeError, stackOf } from './errors.js';
import { bareApp, loadAppModule } from './load-app.js';
import { parseLogLevel, processOutput, type Output } from './output.js';
import { packageVersion } from './version.js';

/** Runs one command line; resolves with the exit code. Exported for in-process use; the bin calls it below. */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, output: Output = processOutput, cwd: string = process.cwd()): Promise<number> {
  const { command: name, rest } = splitCommand(argv);
  let logLevel: LogLevel = 'warn';
  /** The command --help hints at in an error: the one typed, once it is known to exist. */
  let known: string | undefined;
  try {
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? rest.find((t) => !t.startsWith('-')) : undefined;
      const cmd = topic === undefined ? undefined : COMMANDS.find((c) => c.spec.name === topic);
      if (topic !== undefined && cmd === undefined) throw new UsageError(`no such command: ${topic}`);
      if (cmd !== undefined) {
        output.out(commandUsage(cmd.spec));
        return 0;
      }
      if (rest.includes('--version') || rest.includes('-V')) {
        output.out(`celeriac ${packageVersion()}\n`);
        return 0;
      }
      if (name === 'help' || rest.includes('--help') || rest.includes('-h')) {
        output.out(overallUsage(COMMANDS.map((c) => c.spec)));
        return 0;
      }
      if (rest.length > 0) parseCommandArgs({ name: '', summary: '', positionals: '', description: [], flags: [] }, rest, env);
      throw new UsageError(`no command given; commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}`);
    }
    const cmd = COMMANDS.find((c) => c.spec.name === name);
    if (cmd === undefined) {
      const near = closest(name, COMMANDS.map((c) => c.spec.name));
      throw new UsageError(`no such command: ${name}${near === undefined ? '' : ` (did you mean ${near}?)`}; commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}`);
    }
    known = cmd.spec.name;
    const args: ParsedArgs = parseCommandArgs(cmd.spec, rest, env);
    if (args.help) {
      output.out(commandUsage(cmd.spec));
      return 0;
    }
    const level = args.string('loglevel');
    logLevel = level === undefined ? (cmd.defaultLogLevel ?? 'warn') : parseLogLevel(level);
    const ctx: CommandContext = {
      args,
      cwd,
      output,
      logLevel,
      async loadApp(options = {}) {
        const app = args.string('app');
        const broker = args.string('broker')?.raw.trim();
        if (app === undefined) {
          if (options.required === true) throw new UsageError(`${cmd.spec.name} needs the app: -A/--app MODULE (or CELERIAC_APP), a module whose default export is the Celeriac app`);
          return bareApp(broker === '' ? undefined : broker);
        }
        return loadAppModule(app.raw, broker === '' ? undefined : broker, cwd);
      },
      onSignal(fn) {
        process.on('SIGINT', fn);
        process.on('SIGTERM', fn);
        return () => {
          process.off('SIGINT', fn);
          process.off('SIGTERM', fn);
        };
      },
    };
    return await cmd.run(ctx);
  } catch (err) {
    const { line, exitCode } = describeError(err, known);
    output.err(`${line}\n`);
    if (logLevel === 'debug') output.err(`${stackOf(err)}\n`);
    return exitCode;
  }
}

/** True when this file is the program node runs (directly, or through npm's bin symlink). */
function isMain(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(invoked) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// Run when executed as the bin, not when a test imports main().
if (isMain()) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`celeriac: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

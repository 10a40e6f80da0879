// What every command gets from the entry point (parsed flags, output, log level, the app loader)
// and what it gives back (an exit code). Types only, so commands and the entry share no state.
import type { LogLevel } from '../worker/worker.js';
import type { CommandSpec, ParsedArgs } from './args.js';
import type { LoadedApp } from './load-app.js';
import type { Output } from './output.js';

/** The environment of one command run. */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly cwd: string;
  readonly output: Output;
  /** -l/--loglevel (the command's default when not given). */
  readonly logLevel: LogLevel;
  /**
   * The app: imported from -A/--app, else (unless `required`) a bare app on --broker. --broker
   * always wins over the app's own broker setting.
   */
  loadApp(options?: { required?: boolean }): Promise<LoadedApp>;
  /** Runs `fn` when SIGINT or SIGTERM arrives (the worker's shutdown); returns the remover. */
  onSignal(fn: (signal: NodeJS.Signals) => void): () => void;
}

/** One sub-command of `celeriac`. */
export interface Command {
  readonly spec: CommandSpec;
  /** The level when -l is not given. */
  readonly defaultLogLevel?: LogLevel;
  /** Runs it; resolves with the exit code. Throws UsageError / CliError / CeleriacError on failure. */
  run(ctx: CommandContext): Promise<number>;
}

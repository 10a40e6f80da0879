// Children without tap's hooks. tap loads its TypeScript loader, its mock hooks and its coverage
// recorder (processinfo) into every test process, and passes them on to every child through
// execArgv and NODE_OPTIONS. A child that runs built JavaScript needs none of them, and they triple
// its start-up (about 1 s of CPU each, 15 s per child on a loaded 2-core machine), so the child
// processes, threads and pool runners that tests start are started without them.

/** tap's hooks: `--import=file:///…/node_modules/@tapjs/…` and `--loader …@tapjs…`. */
const TAP_HOOK = /@tapjs[\\/]/;

/** `NODE_OPTIONS` with tap's hooks taken out (undefined when nothing else is left). */
function plainNodeOptions(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value.split(/\s+/).filter((opt) => opt !== '' && !TAP_HOOK.test(opt));
  return kept.length === 0 ? undefined : kept.join(' ');
}

/** This process's environment without tap's hooks in NODE_OPTIONS, plus `extra`: for spawn()'s `env`. */
export function plainChildEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
  const options = plainNodeOptions(process.env['NODE_OPTIONS']);
  if (options !== undefined) env['NODE_OPTIONS'] = options;
  return { ...env, ...extra };
}

/**
 * For tests whose code under test starts runners itself (the isolated pools fork and spawn threads
 * with this process's execArgv and environment): takes tap's hooks out of both, in this process.
 * The runners load compiled JavaScript (dist/) and plain .mjs fixtures, so they need no loader.
 */
export function dropTapHooksForChildren(): void {
  const kept = process.execArgv.filter((a, i, all) => !TAP_HOOK.test(a) && !(TAP_HOOK.test(all[i + 1] ?? '') && /^--(import|loader|require)$/.test(a)));
  process.execArgv.splice(0, process.execArgv.length, ...kept);
  const options = plainNodeOptions(process.env['NODE_OPTIONS']);
  if (options === undefined) delete process.env['NODE_OPTIONS'];
  else process.env['NODE_OPTIONS'] = options;
}

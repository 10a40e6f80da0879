// The app-module loader every isolated runner (and the CLI) uses: paths, file URLs and bare names
// without an extension resolve to one file; each way of failing says which module and why.
import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTaskRegistry, loadApp, resolveAppModule } from '../../client/worker/pools/load-app.js';
import { FIXTURES, TASKS_APP } from './pool-helpers.js';

t.test('paths, file URLs and paths without an extension resolve to a file URL', async (t) => {
  const url = pathToFileURL(TASKS_APP).href;
  t.equal(resolveAppModule(TASKS_APP), url);
  t.equal(resolveAppModule(url), url);
  t.equal(resolveAppModule('./tasks.mjs', FIXTURES), url, 'relative to the given directory');
  t.equal(resolveAppModule(join(FIXTURES, 'tasks')), url, '.js and .mjs are tried');
  t.throws(() => resolveAppModule('./nope.js', FIXTURES), { code: 'ERR_INVALID_ARGUMENT', message: /no such module: \.\/nope\.js/ });
  t.throws(() => resolveAppModule(FIXTURES), { message: /no such module/ }, 'a directory is not a module');
});

t.test('the default export or the `app` export is the app', async (t) => {
  const byDefault = await loadApp(TASKS_APP);
  t.ok(isTaskRegistry(byDefault));
  t.ok(byDefault.taskNames().includes('add'));
  const byName = await loadApp(join(FIXTURES, 'app-export.mjs'));
  t.equal(byName, byDefault, 'the same registry object');
  t.equal(byName.getTask('add')?.name, 'add');
});

t.test('errors name the module and what is wrong with it', async (t) => {
  await t.rejects(loadApp(join(FIXTURES, 'missing.mjs')), { code: 'ERR_INVALID_ARGUMENT', message: /no such module: .*missing\.mjs/ });
  await t.rejects(loadApp(join(FIXTURES, 'not-an-app.mjs')), {
    code: 'ERR_INVALID_ARGUMENT', message: /not-an-app\.mjs has no default export or `app` export that is a Celeriac app/,
  });
  const err = await loadApp(join(FIXTURES, 'throws-on-load.mjs')).catch((e: unknown) => e);
  t.match(err, { code: 'ERR_INVALID_ARGUMENT', message: /cannot load app module .*throws-on-load\.mjs: Error: fixture refuses to load/ });
  t.match((err as Error).cause, { message: 'fixture refuses to load' }, 'the cause is kept');
});

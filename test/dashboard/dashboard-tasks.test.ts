// The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real
// broker and a real worker sending task events: the login page for a browser without credentials,
// login through the form, counts that match the API, the task list as the API has it, a task
// arriving live without a reload, the state filter, a failed task's traceback read off the page, a
// retry from the task's page, a monitoring user without action buttons, a wrong password. Queues,
// purge, workers and beat: dashboard-queues.test.ts. Screenshots go to .tap/screenshots/.
import t from 'tap';
import { join } from 'node:path';
import { api } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { ADMIN } from '../http/task-helpers.js';
import { dashboardEnv, launch, login, newPage, SHOTS, textOf, WAIT_MS, type OverviewJson, type TaskJson } from './browser-helpers.js';

t.test('the dashboard in Chromium: login, counts, tasks, live updates, traceback, retry, roles', async (t) => {
  const { broker, url, prefix, app, bad } = await dashboardEnv(t);
  const browser = await launch(t);

  // No credentials: the login page, under the strict CSP.
  const admin = await newPage(browser);
  const page = admin.page;
  const first = await page.goto(`${url}/`);
  t.equal(first?.status(), 200);
  t.match(first?.headers()['content-security-policy'], /default-src 'self'/, 'a strict CSP');
  t.ok(await page.locator('form#login').isVisible(), 'a browser without credentials gets the login page');
  t.equal(await page.locator('#nav').count(), 0, 'and not the dashboard');

  // Logging in through the form opens the dashboard.
  await login(page, url, 'admin', 'adm1n');
  t.match(await page.locator('#me').textContent(), /administrator/);

  // Overview: the counts are the API's, the charts are drawn.
  const overview = (await api<OverviewJson>(broker, '/api/overview', { auth: ADMIN })).body;
  await textOf(page.locator('[data-card=queues] .value'), (s) => s === String(overview.queues), `queues card shows ${overview.queues}`);
  t.equal(await page.locator('svg.chart').count(), 2, 'two charts');
  await textOf(page.locator('#live'), (s) => s === 'live', 'the stream connected');

  // Tasks: the rows are the API's tasks.
  await page.goto(`${url}/#/tasks?search=${prefix}`);
  const apiTasks = (await api<{ tasks: TaskJson[] }>(broker, `/api/tasks?search=${prefix}`, { auth: ADMIN })).body.tasks;
  t.equal(apiTasks.length, 4);
  await untilAsync(async () => (await page.locator('#tasks tr[data-task]').count()) === apiTasks.length, WAIT_MS, 'four task rows');
  const shownIds = await page.locator('#tasks tr[data-task]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')));
  t.same(shownIds, apiTasks.map((x) => x.id), 'the same tasks in the same order');
  t.equal(await page.locator(`#tasks tr[data-task="${bad.id}"] [data-state]`).textContent(), 'FAILURE');
  await page.screenshot({ path: join(SHOTS, 'tasks.png'), fullPage: true });

  // A live update: a task sent now shows up, and moves to SUCCESS, without a reload.
  await page.evaluate('window.__sameDocument = true');
  const later = await app.sendTask(`${prefix}.add`, [1, 1]);
  await later.get({ timeout: 5_000 });
  await textOf(page.locator(`#tasks tr[data-task="${later.id}"] [data-state]`), (s) => s === 'SUCCESS', 'the new task, live');
  t.equal(await page.evaluate('window.__sameDocument'), true, 'no reload happened');

  // The filter: state FAILURE leaves the failed task.
  await page.selectOption('form.filters select[name=state]', 'FAILURE');
  await page.click('form.filters button[type=submit]');
  await untilAsync(async () => (await page.locator('#tasks tr[data-task]').count()) === 1, WAIT_MS, 'one failed task');

  // The failed task's page: its traceback, lines kept, as the API has it.
  await page.click(`#tasks tr[data-task="${bad.id}"] a`);
  const traceback = page.locator('pre#traceback');
  await traceback.waitFor();
  const shown = await traceback.textContent();
  const stored = (await api<TaskJson>(broker, `/api/tasks/${bad.id}`, { auth: ADMIN })).body.traceback;
  t.equal(shown, stored, 'the traceback as stored');
  t.match(shown, /^RangeError: the dashboard shows this\n\s+at /, 'its lines kept');
  t.equal(await traceback.evaluate((el) => getComputedStyle(el).whiteSpace), 'pre', 'shown as preformatted text');
  t.equal(await page.locator('#exception').textContent(), 'RangeError: the dashboard shows this');
  t.ok(await page.locator('#timeline tr[data-event=task-failed]').count() === 1, 'task-failed on the timeline');
  await page.screenshot({ path: join(SHOTS, 'failed-task.png'), fullPage: true });

  // Retry from its page: the page moves to the new task, which fails again, shown live.
  await page.click('button[data-action=retry]');
  await page.locator('dialog[open] button[data-confirm]').click();
  await untilAsync(async () => /#\/task\/[^?]+/.test(page.url()) && !page.url().includes(bad.id), WAIT_MS, 'the new task\'s page');
  const retried = decodeURIComponent(/#\/task\/([^?]+)/.exec(page.url())![1]!);
  await textOf(page.locator('h1 [data-state]'), (s) => s === 'FAILURE', 'the retried task failed too');
  t.equal((await api<TaskJson>(broker, `/api/tasks/${retried}`, { auth: ADMIN })).body.name, `${prefix}.boom`, 'a new task of the same name');

  t.same(admin.errors, [], 'no script errors, nothing refused by the CSP');

  // A monitoring user logs in too, and sees no retry button on the failed task.
  const eye = await newPage(browser);
  await login(eye.page, url, 'eye', 'w4tch');
  await eye.page.goto(`${url}/#/task/${bad.id}`);
  await eye.page.locator('pre#traceback').waitFor();
  t.equal(await eye.page.locator('button[data-action]').count(), 0, 'no retry button');
  t.same(eye.errors, []);

  // A wrong password says so on the login page (last: a failed login slows its address down).
  const wrong = await newPage(browser);
  await wrong.page.goto(`${url}/`);
  await wrong.page.fill('input[name=user]', 'admin');
  await wrong.page.fill('input[name=password]', 'wrong');
  await wrong.page.click('form#login button[type=submit]');
  await textOf(wrong.page.locator('#login-error'), (s) => s.length > 0, 'the login error');
  t.equal(await wrong.page.locator('#me').count(), 0, 'still the login page');
});

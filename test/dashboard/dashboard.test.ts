// The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real
// broker and a real worker sending task events: the login page for a browser without credentials,
// login through the form, counts that match the API, a failed task's traceback read off the page,
// live updates without a reload, a retry from the task's page, workers and beat entries as the
// API has them, a purge through the UI checked through the API, a monitoring user without action
// buttons, Basic credentials opening the dashboard directly. Screenshots go to .tap/screenshots/; with UPDATE_SCREENSHOTS=1 the overview
// is also written to docs/images/dashboard.png (the README's picture; opt-in, so an ordinary run
// leaves the checkout clean).
import t from 'tap';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { connect } from '../../client/index.js';
import { api, queuePath } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { ADMIN, EYE, taskApiEnv, unique } from '../http/task-helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(ROOT, '.tap', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Every wait of the browser gives up after this long. */
const WAIT_MS = 10_000;

interface TaskJson { id: string; name: string; state: string; traceback: string | null }
interface QueueJson { ready: number; messages: number }
interface OverviewJson { queues: number }

/** Resolves once the locator's text satisfies `ok`; rejects after WAIT_MS. */
async function textOf(locator: Locator, ok: (text: string) => boolean, what: string): Promise<string> {
  let last = '';
  await untilAsync(async () => {
    last = ((await locator.first().textContent({ timeout: WAIT_MS }).catch(() => null)) ?? '').trim();
    return ok(last);
  }, WAIT_MS, `${what} (last seen: ${JSON.stringify(last)})`);
  return last;
}

async function newPage(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  // A script refused by the CSP, a failed module load or an exception shows here.
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { context, page, errors };
}

async function login(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.locator('form#login').waitFor();
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${url}/**`), page.click('form#login button[type=submit]')]);
  await textOf(page.locator('#me'), (s) => s.startsWith(user), `logged in as ${user}`);
}

t.test('the dashboard in Chromium: login, counts, traceback, retry, live updates, workers, beat, purge, roles', async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'dashboard', 'app.js'))) throw new Error('the dashboard is not built: run npm run build');
  mkdirSync(SHOTS, { recursive: true });

  const { broker, newApp, startWorker } = await taskApiEnv(t);
  const url = broker.httpUrl;
  const prefix = unique('dash');
  const workerApp = newApp();
  workerApp.task(`${prefix}.add`, (a: number, b: number) => a + b);
  workerApp.task(`${prefix}.boom`, () => {
    throw new RangeError('the dashboard shows this');
  });
  await startWorker(workerApp, { hostname: `${prefix}@test` });
  const app = newApp();
  for (let i = 0; i < 3; i++) t.equal(await (await app.sendTask(`${prefix}.add`, [i, 40])).get({ timeout: 5_000 }), i + 40);
  const bad = await app.sendTask(`${prefix}.boom`, []);
  await bad.get({ timeout: 5_000, propagate: false });
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${bad.id}`, { auth: EYE })).body.state === 'FAILURE', WAIT_MS, 'the failure indexed');

  // A queue with messages and no consumer, for the purge.
  const conn = await connect(`ws://admin:adm1n@${broker.url.slice('ws://'.length)}`, { reconnect: false });
  t.teardown(() => conn.close());
  const full = unique('dash-q');
  await conn.assertQueue(full, { durable: true });
  for (let i = 0; i < 5; i++) await conn.sendToQueue(full, `m${i}`, { persistent: true });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'], timeout: WAIT_MS });
  t.teardown(() => browser.close());

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

  // Workers: the worker, online, as the API has it.
  await page.goto(`${url}/#/workers`);
  const workerRow = page.locator(`#workers tr[data-worker="${prefix}@test"]`);
  await textOf(workerRow.locator('td').nth(1), (s) => s === 'online', 'the worker online');
  t.match((await api<{ hostname: string; online: boolean }[]>(broker, '/api/workers', { auth: ADMIN })).body, [{ hostname: `${prefix}@test`, online: true }]);

  // Beat: an entry of the schedule, in the API's words.
  const entry = unique('dash-every');
  await app.schedules.upsert(entry, { task: `${prefix}.add`, schedule: { minutes: 5 }, args: [1, 2] });
  const listed = (await api<{ entries: { name: string; schedule: string }[] }>(broker, '/api/beat', { auth: ADMIN })).body.entries.find((e) => e.name === entry);
  await page.goto(`${url}/#/beat`);
  const beatRow = page.locator(`#beat tr[data-entry="${entry}"]`);
  await textOf(beatRow.locator('[data-col=schedule]'), (s) => s === listed?.schedule, 'the schedule as the API words it');
  t.equal(await beatRow.locator('[data-col=task]').textContent(), `${prefix}.add`);

  // Queues: the counts are the API's, and they follow the broker live.
  await page.goto(`${url}/#/queues`);
  const row = page.locator(`#queues tr[data-queue="${full}"]`);
  await textOf(row.locator('[data-col=ready]'), (s) => s === '5', 'ready 5 as the API says');
  t.equal((await api<QueueJson>(broker, queuePath(full), { auth: ADMIN })).body.ready, 5);
  await page.evaluate('window.__sameDocument = true');
  await conn.sendToQueue(full, 'one more', { persistent: true });
  await textOf(row.locator('[data-col=ready]'), (s) => s === '6', 'ready 6, live');
  t.equal(await page.evaluate('window.__sameDocument'), true, 'no reload happened');
  await page.screenshot({ path: join(SHOTS, 'queues.png'), fullPage: true });

  // Purge through the UI, with its confirmation; the API then says the queue is empty.
  await row.locator('button[data-action=purge]').click();
  await page.locator('dialog[open] button[data-confirm]').click();
  await untilAsync(async () => (await api<QueueJson>(broker, queuePath(full), { auth: ADMIN })).body.ready === 0, WAIT_MS, 'the queue purged');
  await textOf(row.locator('[data-col=ready]'), (s) => s === '0', 'the row shows 0');

  // The overview once more, with its charts filled by now, for the screenshots.
  await page.goto(`${url}/#/overview`);
  await page.locator('svg.chart polyline').first().waitFor();
  await textOf(page.locator('[data-card=ready] .value'), (s) => s === '0', 'the next overview tick shows the purge');
  await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
    copyFileSync(join(SHOTS, 'overview.png'), join(ROOT, 'docs', 'images', 'dashboard.png'));
  }
  t.same(admin.errors, [], 'no script errors, nothing refused by the CSP');

  // A monitoring user logs in too, and sees no action buttons.
  const eye = await newPage(browser);
  await login(eye.page, url, 'eye', 'w4tch');
  await eye.page.goto(`${url}/#/queues`);
  await eye.page.locator(`#queues tr[data-queue="${full}"]`).waitFor();
  t.equal(await eye.page.locator('button[data-action]').count(), 0, 'no purge or delete button');
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

  // Basic credentials open the dashboard directly, as for scripts (sent unasked: the root answers
  // the login page, not a challenge, to a browser that sends none).
  const scripted = await newPage(browser, { extraHTTPHeaders: { authorization: EYE } });
  await scripted.page.goto(`${url}/`);
  await textOf(scripted.page.locator('#me'), (s) => s.startsWith('eye'), 'the dashboard with Basic credentials');
  t.equal(await scripted.page.locator('form#login').count(), 0, 'no login page');
  t.equal(await scripted.page.locator('#logout').isVisible(), false, 'nothing to log out of');
});

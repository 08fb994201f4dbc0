// The UI's browser test: playwright-core drives Debian's Chromium against a running local stack.
// tests/e2e/test_web_ui.py starts the stack, the web server and a seeded swarm, then runs this.
//
// Env: WEB_URL (the web server), KEYS (JSON {admin, operator, viewer} API keys), SEED_SID (a
// seeded swarm with 20 agents, 200 tasks and a pending approval), RESEARCH_SID and RESEARCH (a
// research swarm run with server tools, and its scenario's data), SCREENSHOTS (folder),
// CHROMIUM (default /usr/bin/chromium). Prints one line per step and a closing
// "N passed, N failed" line; exits non-zero on the first failure.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const WEB = process.env.WEB_URL ?? 'http://127.0.0.1:58080';
const KEYS = JSON.parse(process.env.KEYS ?? '{}');
const SEED = process.env.SEED_SID;
// A completed swarm of the model server's `research` scenario, and that scenario's data (the
// search results, the fetched page and the code output its researcher was answered with).
const RESEARCH_SID = process.env.RESEARCH_SID;
const RESEARCH = JSON.parse(process.env.RESEARCH ?? '{}');
const SHOTS = process.env.SCREENSHOTS ?? join(import.meta.dirname, '../../../test-artifacts/screenshots');
const GOAL = 'Write a short field guide to running a bake sale';
const RENDER_BUDGET_MS = 1000;
// Markup, script and handler injections, a javascript: link and a bidi override, as a goal.
const HOSTILE = 'Fix the [/] bug <script>alert(1)</script> <img src=x onerror="window.__pwned=1;alert(2)"> "><svg onload=alert(3)> {{7*7}} [link](javascript:alert(5)) \u202eevil\u202c list[int]';
// As the UI shows it: the bidi override (which would draw "evil" as "live") removed.
const HOSTILE_SHOWN = HOSTILE.replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
mkdirSync(SHOTS, { recursive: true });

const timings = {};
const ctx = {}; // the page, for steps written as functions of their own
let passed = 0;
const log = (...a) => console.log(...a);

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    log(`FAIL ${name}: ${e.stack ?? e}`);
    throw e;
  }
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

async function signIn(page, key) {
  await page.goto(WEB);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Every form control has a label and every button a name: a cheap accessibility net. */
async function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('input:not([type=hidden]):not(.sr-only), select, textarea')) {
      const named = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) bad.push(el.outerHTML.slice(0, 80));
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!(el.textContent.trim() || el.getAttribute('aria-label'))) bad.push(el.outerHTML.slice(0, 80));
    }
    return bad;
  });
}

const text = async (loc) => (await loc.textContent())?.trim();

// -- the timeline (views/Timeline.jsx), its own steps --------------------------------------------

async function timelineLive() {
  const page = ctx.page;
  await page.goto(WEB);
  await page.getByRole('button', { name: 'New swarm' }).click();
  await page.getByLabel('Goal').fill(GOAL);
  await page.getByRole('button', { name: 'Start swarm' }).click();
  await page.waitForURL(/#\/swarms\/s-/);
  const lsid = decodeURIComponent(page.url().split('#/swarms/')[1].split('/')[0]);
  await page.getByRole('link', { name: 'Timeline' }).click();
  // Live: bars appear while the swarm runs, with no reload (onSnapshot).
  const counts = [];
  let midShot = false;
  const deadline = Date.now() + 90000;
  while (Date.now() < deadline) {
    const bars = Number((await page.getByTestId('swarm-timeline').getAttribute('data-bars').catch(() => null)) ?? 0);
    const status = await page.getByTestId('swarm-status').getAttribute('data-status').catch(() => null);
    if (!counts.length || counts.at(-1).bars !== bars) counts.push({ bars, status });
    if (!midShot && bars >= 2 && status === 'running') {
      await shot(page, '22-timeline-live-running');
      midShot = true;
    }
    if (status === 'completed' && bars > 0) break;
    await page.waitForTimeout(100);
  }
  log(`     live timeline bar counts: ${counts.map((c) => `${c.bars}${c.status === 'running' ? '' : ` (${c.status})`}`).join(' → ')}`);
  assert(counts.some((c) => c.status === 'running' && c.bars > 0), 'turns were drawn while the swarm ran');
  assert(new Set(counts.map((c) => c.bars)).size >= 2, 'the timeline grew live');
  const final = await page.locator('[data-testid=timeline-bar]').count();
  assert(final >= 4, `a bar per finished turn (${final})`);
  const lanes = await page.locator('[data-testid=timeline-bar]').evaluateAll((bs) => new Set(bs.map((b) => b.dataset.agent)).size);
  assert(lanes >= 2, 'turns in more than one lane');
  assert((await page.locator('[data-testid=timeline-arrow]').count()) > 0, 'messages drawn as arrows');
  assert((await page.locator('[data-testid=timeline-mark]').count()) > 0, 'task claims and completions marked');
  await shot(page, '23-timeline-live-completed');
  // A lead turn (one with a model call) opens the lead's transcript at that call: by keyboard,
  // as the bars are buttons (a pointer may land on an arrow drawn across it).
  await page.locator('[data-testid=timeline-bar][data-agent=lead][data-has-calls=true]').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#/swarms/${lsid}/agents/lead\\?turn=`));
  const focused = page.locator('[data-testid=transcript-step][data-focused=true]');
  await focused.waitFor();
  assert((await focused.count()) === 1, 'one call is marked');
  await shot(page, '24-timeline-opens-transcript');
}

async function timelineSeeded() {
  const page = ctx.page;
  await page.goto(`${WEB}/#/swarms/${SEED}`);
  await page.locator('[data-testid=swarm-view][data-complete=true]').waitFor();
  // Timed in the page, from the click on the tab to the frame after the timeline is drawn
  // (the mark views/Timeline.jsx sets): run 0 also waits for the turns' first snapshot.
  const runs = [];
  for (let i = 0; i < 4; i++) {
    await page.evaluate(() => {
      performance.clearMarks();
      window.__t0 = performance.now();
    });
    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.locator('[data-testid=timeline-bar]').nth(99).waitFor();
    // The mark is set in the frame after the bars are drawn: wait for that frame (bounded).
    await page
      .waitForFunction(
        (sid) => performance.getEntriesByType('mark').some((m) => m.name.startsWith(`timeline-drawn:${sid}:`) && !m.name.endsWith(':0')),
        SEED,
        { timeout: 5000 },
      )
      .catch(() => null);
    runs.push(
      await page.evaluate((sid) => {
        const drawn = performance.getEntriesByType('mark').find((m) => m.name.startsWith(`timeline-drawn:${sid}:`) && !m.name.endsWith(':0'));
        return { drawn_ms: drawn ? Math.round(drawn.startTime - window.__t0) : null, bars: Number(drawn?.name.split(':').at(-1)) };
      }, SEED),
    );
    if (i < 3) {
      await page.getByRole('link', { name: 'Agents' }).click();
      await page.locator('[data-testid=graph-node]').nth(19).waitFor();
    }
  }
  const drawn = runs.slice(1).map((r) => r.drawn_ms).sort((x, y) => x - y);
  timings.timeline_seeded = { first_run: runs[0], runs: runs.slice(1), drawn_median_ms: drawn[1] };
  log(`     timeline timings: ${JSON.stringify(timings.timeline_seeded)}`);
  assert(runs.every((r) => r.drawn_ms != null && r.bars >= 100), 'the timeline marked each draw');
  const lanes = await page.locator('[data-testid=timeline-bar]').evaluateAll((bs) => new Set(bs.map((b) => b.dataset.agent)).size);
  assert(lanes === 20, `a lane of turns per agent (${lanes})`);
  assert((await page.locator('[data-testid=timeline-band]').count()) > 0, 'the pause (an earlier step) is a band');
  await shot(page, '25-timeline-seeded');
  const all = Number(await page.getByTestId('swarm-timeline').getAttribute('data-bars'));
  const t1 = Date.now();
  for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Zoom in' }).click();
  const zoomed = Number(await page.getByTestId('swarm-timeline').getAttribute('data-bars'));
  timings.timeline_seeded.zoom_4x_ms = Date.now() - t1;
  assert(zoomed < all, `zooming in shows fewer turns (${zoomed} of ${all})`);
  // Scrub to the start: the window keeps its span and shows other turns.
  // Set as a dragged slider does: the native setter, then an input event (React's onChange).
  await page.getByTestId('timeline-scrub').evaluate((el) => {
    const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    set.call(el, String(Number(el.min) + 60000));
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.getByRole('button', { name: 'Follow live' }).waitFor();
  await shot(page, '26-timeline-seeded-zoomed-scrubbed');
  await page.getByRole('button', { name: 'Follow live' }).click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=swarm-timeline]')?.dataset.bars) === n, all);
  await page.getByRole('link', { name: 'Costs' }).click();
  const chart = page.getByTestId('cost-chart');
  await chart.waitFor();
  assert(Number(await chart.getAttribute('data-points')) >= 100, 'cost over time from every turn record');
  await shot(page, '27-costs-over-time');
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  ctx.page = page;
  page.setDefaultTimeout(15000);
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  try {
    await step('a wrong API key is refused with the reason', async () => {
      await page.goto(WEB);
      await shot(page, '01-sign-in');
      await page.getByLabel('API key').fill('csk_000000000000_not-a-real-key-not-a-real-key-not-a-real-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: /invalid API key/i }).waitFor();
    });

    await step('a viewer sees the swarms but no controls', async () => {
      await signIn(page, KEYS.viewer);
      assert((await text(page.getByTestId('role'))).endsWith('viewer'), 'role shown');
      await page.getByTestId('swarm-table').waitFor();
      assert((await page.getByRole('button', { name: 'New swarm' }).count()) === 0, 'no New swarm for a viewer');
      assert((await page.getByRole('button', { name: 'Stop everything' }).count()) === 0, 'no kill switch button for a viewer');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key').waitFor();
    });

    await step('an expired session says so and returns to sign-in', async () => {
      await page.evaluate(() =>
        sessionStorage.setItem('cloudswarm.session', JSON.stringify({ token: 'x.y.z', expires_at: '2000-01-01T00:00:00Z', role: 'admin' })),
      );
      await page.reload();
      const notice = page.getByTestId('session-notice');
      await notice.waitFor();
      assert(/expired/i.test(await text(notice)), 'expiry notice');
      await shot(page, '02-session-expired');
    });

    await step('an admin signs in and sees the swarm list', async () => {
      await signIn(page, KEYS.admin);
      await page.locator(`[data-testid=swarm-row][data-swarm="${SEED}"][data-loaded=true]`).waitFor();
      await shot(page, '03-swarm-list');
      const bad = await unlabelled(page);
      assert(bad.length === 0, `unlabelled controls: ${bad.join(' | ')}`);
    });

    await step(`the first view of a swarm with 20 agents and 200 tasks renders in < ${RENDER_BUDGET_MS} ms`, async () => {
      // In-app navigation from the list, as when an operator clicks a swarm: timed in the page,
      // from the click to the frame after the view's data is in (marks set by SwarmView).
      // Run 0 is the first visit after the stack started (the emulator's JVM warms up on its
      // first queries): recorded, not judged; the median of runs 1-3 is.
      const runs = [];
      for (let i = 0; i < 4; i++) {
        await page.evaluate(() => {
          performance.clearMarks();
          window.__t0 = performance.now();
        });
        await page.locator(`[data-testid=swarm-row][data-swarm="${SEED}"] a`).first().click();
        await page.locator('[data-testid=swarm-view][data-complete=true]').waitFor();
        await page.locator('[data-testid=graph-node]').nth(19).waitFor();
        // Both marks are set in the frame after their render: wait for that frame (bounded).
        await page
          .waitForFunction(() => {
            const sid = location.hash.split('/')[2];
            return performance.getEntriesByName(`swarm-first-view:${sid}`).length && performance.getEntriesByName(`swarm-complete:${sid}`).length;
          }, null, { timeout: 5000 })
          .catch(() => null);
        runs.push(
          await page.evaluate(() => {
            const at = (name) => Math.round(performance.getEntriesByName(name)[0].startTime - window.__t0);
            const sid = location.hash.split('/')[2];
            return { first_view_ms: at(`swarm-first-view:${sid}`), all_data_ms: at(`swarm-complete:${sid}`) };
          }),
        );
        const t1 = Date.now();
        await page.getByRole('link', { name: 'Tasks' }).click();
        await page.locator('[data-testid=task-card]').nth(199).waitFor();
        runs.at(-1).task_board_ms = Date.now() - t1;
        if (i < 3) {
          await page.getByRole('link', { name: 'Swarms' }).first().click();
          await page.locator(`[data-testid=swarm-row][data-swarm="${SEED}"]`).waitFor();
        }
      }
      const median = (k) => runs.slice(1).map((r) => r[k]).sort((x, y) => x - y)[1];
      Object.assign(timings, { warmup_run: runs[0], runs: runs.slice(1), first_view_median_ms: median('first_view_ms'), all_data_median_ms: median('all_data_ms'), task_board_median_ms: median('task_board_ms') });
      // A new tab straight onto the swarm: config, bundle, sign-in (sessionStorage is per tab).
      const cold = await context.newPage();
      const t2 = Date.now();
      await cold.goto(`${WEB}/#/swarms/${SEED}`);
      await cold.getByLabel('API key').fill(KEYS.admin);
      await cold.getByRole('button', { name: 'Sign in' }).click();
      await cold.locator('[data-testid=swarm-view][data-ready=true]').waitFor();
      await cold.locator('[data-testid=graph-node]').nth(19).waitFor();
      timings.new_tab_to_first_view_ms = Date.now() - t2;
      await cold.close();
      log(`     timings: ${JSON.stringify(timings)}`);
      assert(timings.first_view_median_ms < RENDER_BUDGET_MS, `first view took ${timings.first_view_median_ms} ms`);
      assert(timings.task_board_median_ms < RENDER_BUDGET_MS, `200-task board took ${timings.task_board_median_ms} ms`);
      assert((await page.locator('[data-column=done] [data-testid=task-card]').count()) === 80, '80 done tasks');
      await shot(page, '05-task-board');
      await page.getByRole('button', { name: 'By dependency' }).click();
      await page.getByTestId('task-levels').waitFor();
      await shot(page, '06-task-dependencies');
      await page.getByRole('link', { name: 'Agents' }).click();
      await page.locator('[data-testid=graph-node]').nth(19).waitFor();
      await shot(page, '04-swarm-graph-20-agents');
    });

    await step('an operator-level user approves a request with a comment', async () => {
      await page.getByRole('link', { name: 'Approvals' }).first().click();
      const card = page.locator(`[data-testid=approval][data-swarm="${SEED}"][data-approval=ap-publish]`);
      await card.waitFor();
      await shot(page, '07-approvals-inbox');
      await card.getByLabel('Comment for the agent (optional)').fill('Go ahead, after the legal check.');
      await card.getByRole('button', { name: 'Approve' }).click();
      await card.waitFor({ state: 'detached' });
      await page.goto(`${WEB}/#/swarms/${SEED}/approvals`);
      const decided = page.locator(`[data-testid=approval][data-swarm="${SEED}"][data-approval=ap-publish][data-status=approved]`);
      await decided.waitFor();
      assert(/legal check/.test(await text(decided)), 'the comment is recorded');
      await shot(page, '08-approval-decided');
    });

    await step('the Workspace tab: a Markdown artifact rendered safely, its history and a diff', async () => {
      // tests/e2e/test_web_ui.py wrote report.md twice into the seeded swarm's workspace.
      await page.goto(`${WEB}/#/swarms/${SEED}/workspace`);
      await page.getByTestId('workspace-files').waitFor();
      await page.getByRole('button', { name: 'report.md' }).click();
      const md = page.getByTestId('artifact-markdown');
      await md.locator('h1').waitFor();
      assert((await text(md.locator('h1'))) === 'Bake sale report', 'the heading is rendered');
      assert((await md.locator('strong').count()) === 1 && (await md.locator('li').count()) === 2, 'emphasis and the list are rendered');
      assert((await md.locator('script, img').count()) === 0, 'no element is made of the HTML in the file');
      assert((await md.textContent()).includes('<script>window.__pwned=1</script>'), 'the HTML shows as text');
      assert(!(await page.evaluate(() => window.__pwned)), 'no script from the file ran');
      await page.locator('[data-testid=artifact-history] li').nth(1).waitFor();
      await shot(page, '08d-workspace-markdown');
      await page.getByRole('button', { name: 'Compare v1 with v2' }).click();
      const diff = page.getByTestId('artifact-diff');
      await diff.waitFor();
      const added = await diff.locator('[data-diff=added]').allTextContents();
      const removed = await diff.locator('[data-diff=removed]').allTextContents();
      assert(added.join('\n').includes('+ - cakes: 14') && removed.join('\n').includes('- - cakes: 12'), `the diff shows the change: ${added} / ${removed}`);
      await shot(page, '08e-workspace-diff');
    });

    await step("a research swarm: its cited report in the Workspace tab, and the researcher's searches, fetched page, code output and citations in its transcript", async () => {
      const urls = RESEARCH.search.map((h) => h.url);
      await page.goto(`${WEB}/#/swarms/${RESEARCH_SID}/workspace`);
      await page.getByTestId('workspace-files').waitFor();
      await page.getByRole('button', { name: 'research/report.md' }).click();
      const md = page.getByTestId('artifact-markdown');
      await md.locator('h1').waitFor();
      const cited = await md.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert(urls.every((u) => cited.includes(u)), `the report links its sources: ${cited}`);
      await shot(page, '08f-research-report');

      await page.goto(`${WEB}/#/swarms/${RESEARCH_SID}/agents/researcher`);
      await page.locator('[data-testid=transcript-step]').first().waitFor();
      const results = page.locator('[data-testid=search-result]');
      await results.first().waitFor();
      const links = results.locator('a');
      const shown = await links.evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel'), a.getAttribute('target')]));
      assert(
        JSON.stringify(shown.map(([href, title]) => [href, title])) === JSON.stringify(RESEARCH.search.map((h) => [h.url, h.title])),
        `every search result is shown as its link and title: ${JSON.stringify(shown)}`,
      );
      assert(shown.every(([, , rel, target]) => rel.includes('noopener') && target === '_blank'), 'result links open apart from the app');
      assert((await text(results.first())).includes(RESEARCH.search[0].page_age), 'a result shows its page age');
      const fetched = page.locator('details[data-kind=fetched_page]');
      assert((await fetched.count()) === 1, 'the fetched page is shown');
      assert((await fetched.locator('[data-testid=fetched-url] a').getAttribute('href')) === urls[0], 'with its URL');
      assert((await fetched.locator('pre').textContent()).includes(RESEARCH.page.text.trim()), 'and its text');
      const code = page.locator('details[data-kind=code_result]');
      assert((await code.count()) === 1, 'the code run is shown');
      assert((await code.locator('pre').first().textContent()) === RESEARCH.code.stdout, 'with its output, as printed');
      const citations = await page.locator('[data-testid=citation] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert(urls.every((u) => citations.includes(u)), `the text cites the results under it: ${citations}`);
      assert((await page.locator('details[data-kind=server_tool_use]').count()) === 3, 'the search, the fetch and the command are shown');
      await shot(page, '08g-research-transcript');
    });

    await step('message an agent, pause and resume the swarm through the API', async () => {
      await page.goto(`${WEB}/#/swarms/${SEED}/agents/worker-01/inbox`);
      await page.getByLabel('Message worker-01').fill('Please prioritise chapter 3.');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByTestId('mail-to').getByText('Please prioritise chapter 3.').waitFor();
      await shot(page, '08b-message-sent');
      await page.goto(`${WEB}/#/swarms/${SEED}`);
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.locator('[data-testid=swarm-status][data-status=paused]').waitFor();
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.locator('[data-testid=swarm-status][data-status=running]').waitFor();
    });

    await step('a hostile goal shows as text in the header, messages and activity, and runs nothing', async () => {
      // Every view with more cases (NUL, escape sequences, 100 kB lines): web/src/views/hostile.test.js.
      const dialogs = [];
      const onDialog = (d) => dialogs.push(d.message()) && d.dismiss();
      page.on('dialog', onDialog);
      const injected = () =>
        page.evaluate(() => document.querySelectorAll('img, iframe, [onerror], [onload], a[href^="javascript"]').length + (window.__pwned ? 100 : 0));
      await page.goto(WEB);
      await page.getByRole('button', { name: 'New swarm' }).click();
      await page.getByLabel('Goal').fill(HOSTILE);
      await page.getByRole('button', { name: 'Start swarm' }).click();
      await page.waitForURL(/#\/swarms\/s-/);
      const hsid = decodeURIComponent(page.url().split('#/swarms/')[1].split('/')[0]);
      const view = page.getByTestId('swarm-view');
      await view.waitFor();
      assert((await view.locator('h1').textContent()) === HOSTILE_SHOWN, 'the goal is shown as typed');
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Stop the swarm' }).click();
      await page.locator('[data-testid=swarm-status][data-status=killed]').waitFor();
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.getByTestId('message-stream').getByText(`Goal: ${HOSTILE_SHOWN}`, { exact: true }).waitFor();
      await page.getByRole('link', { name: 'Activity' }).click();
      await page.getByTestId('timeline').getByText(`Swarm started: ${HOSTILE_SHOWN}`, { exact: true }).waitFor();
      assert((await injected()) === 0, 'markup became elements or ran');
      await shot(page, '08c-hostile-text');
      page.off('dialog', onDialog);
      assert(dialogs.length === 0, `a script ran: ${dialogs.join(' | ')}`);
    });

    let sid;
    await step('start a demo swarm and watch agents and tasks change live', async () => {
      await page.goto(WEB);
      await page.getByRole('button', { name: 'New swarm' }).click();
      await page.getByLabel('Goal').fill(GOAL);
      await page.getByRole('button', { name: 'Start swarm' }).click();
      await page.waitForURL(/#\/swarms\/s-/);
      sid = decodeURIComponent(page.url().split('#/swarms/')[1].split('/')[0]);
      // Watch the DOM as it changes: which agent and task statuses showed up, and when.
      const seen = { agent: new Set(), task: new Set(), agents: 0, midShot: false };
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline) {
        for (const s of await page.locator('[data-testid=graph-node]').evaluateAll((ns) => ns.map((n) => n.dataset.status))) seen.agent.add(s);
        seen.agents = Math.max(seen.agents, await page.locator('[data-testid=graph-node]').count());
        const status = await page.getByTestId('swarm-status').getAttribute('data-status').catch(() => null);
        if (!seen.midShot && seen.agents >= 3 && status === 'running') {
          await shot(page, '09-live-swarm-running');
          seen.midShot = true;
        }
        if (status === 'completed') break;
        await page.waitForTimeout(50);
      }
      log(`     agent statuses seen: ${[...seen.agent].join(', ')}; agents: ${seen.agents}`);
      assert((await page.getByTestId('swarm-status').getAttribute('data-status')) === 'completed', 'the swarm completed');
      assert(seen.agent.has('running'), 'an agent was seen working');
      assert(seen.agent.has('idle'), 'an agent was seen idle');
      assert(seen.agents >= 4, 'the lead spawned teammates, shown live');
      await shot(page, '10-live-swarm-completed');
      await page.getByRole('link', { name: 'Tasks' }).click();
      // The board fills from its own snapshot after the tab opens: wait for it, then judge.
      await page
        .waitForFunction(() => {
          const all = document.querySelectorAll('[data-testid=task-card]').length;
          return all > 0 && all === document.querySelectorAll('[data-column=done] [data-testid=task-card]').length;
        }, null, { timeout: 15000 })
        .catch(() => null);
      const done = await page.locator('[data-column=done] [data-testid=task-card]').count();
      assert(done > 0 && done === (await page.locator('[data-testid=task-card]').count()), 'every task is done');
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.getByTestId('message-stream').waitFor();
      await shot(page, '11-messages');
      await page.getByRole('link', { name: 'Activity' }).click();
      await page.locator('[data-testid=timeline] [data-kind=task_done]').first().waitFor();
      await shot(page, '12-activity');
      await page.getByRole('link', { name: 'Costs' }).click();
      await page.getByTestId('cost-table').waitFor();
      await shot(page, '13-costs');
    });

    await step('open an agent transcript: model calls, tool calls and results, collapsible', async () => {
      await page.goto(`${WEB}/#/swarms/${sid}/agents/lead`);
      await page.locator('[data-testid=transcript-step]').first().waitFor();
      const steps = await page.locator('[data-testid=transcript-step]').count();
      assert(steps >= 2, `transcript has ${steps} model calls`);
      assert((await page.locator('details[data-kind=tool_use]').count()) > 0, 'tool calls shown');
      assert((await page.locator('details[data-kind=tool_result]').count()) > 0, 'tool results shown');
      await shot(page, '14-transcript');
      await page.getByRole('button', { name: 'Expand all' }).click();
      assert((await page.locator('details[data-kind]:not([open])').count()) === 0, 'Expand all opens every block');
      await page.screenshot({ path: join(SHOTS, '14b-transcript-expanded.png') });
      await page.getByRole('link', { name: 'Inbox' }).click();
      await page.getByTestId('mail-to').waitFor();
      await shot(page, '15-agent-inbox');
    });

    await step('timeline: a live demo swarm fills in as it runs, a turn opens its transcript at that call', timelineLive);
    await step('timeline: the seeded 20-agent swarm draws, zooms and scrubs; cost over time on Costs (render time measured)', timelineSeeded);

    let halted;
    await step('engage the kill switch (reason, confirm): a new swarm halts', async () => {
      await page.goto(WEB);
      await page.getByRole('button', { name: 'Stop everything' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(/Reason/).fill('e2e: checking that everything stops');
      await dialog.getByRole('button', { name: 'Continue' }).click();
      await dialog.getByTestId('kill-confirm-text').waitFor();
      await shot(page, '16-kill-switch-confirm');
      await dialog.getByRole('button', { name: 'Yes, engage the kill switch' }).click();
      await page.getByTestId('kill-banner').waitFor();
      assert(/e2e-admin/.test(await text(page.getByTestId('kill-banner'))), 'the banner names who engaged it');
      assert(/checking that everything stops/.test(await text(page.getByTestId('kill-banner'))), 'and why');
      // A swarm started now must not move while the switch is engaged.
      await page.getByRole('button', { name: 'New swarm' }).click();
      await page.getByLabel('Goal').fill(GOAL);
      await page.getByRole('button', { name: 'Start swarm' }).click();
      await page.waitForURL(/#\/swarms\/s-/);
      halted = decodeURIComponent(page.url().split('#/swarms/')[1].split('/')[0]);
      await page.getByTestId('swarm-halted').waitFor();
      await page.waitForTimeout(3000);
      assert((await page.locator('[data-testid=graph-node]').count()) === 1, 'no teammate spawned while halted');
      assert((await page.locator('[data-testid=graph-node][data-agent=lead]').getAttribute('data-status')) === 'idle', 'the lead stays idle');
      await shot(page, '17-kill-switch-engaged');
    });

    await step('release the kill switch (admin): the halted swarm resumes and completes', async () => {
      await page.getByRole('button', { name: 'Release' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(/Reason/).fill('e2e: all clear');
      await dialog.getByRole('button', { name: 'Release the kill switch' }).click();
      await page.getByTestId('kill-banner').waitFor({ state: 'detached' });
      assert((await page.getByTestId('kill-state').getAttribute('data-engaged')) === 'false', 'switch shows off');
      await page.locator('[data-testid=swarm-status][data-status=completed]').waitFor({ timeout: 60000 });
      assert((await page.locator('[data-testid=graph-node]').count()) >= 4, 'teammates were spawned after the release');
      await shot(page, '18-after-release-completed');
    });

    await step('phone width: list, swarm and agent views fit and stay usable', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(WEB);
      await page.getByTestId('swarm-table').waitFor();
      await shot(page, '19-phone-list');
      await page.goto(`${WEB}/#/swarms/${SEED}`);
      await page.locator('[data-testid=swarm-view][data-ready=true]').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
      await shot(page, '20-phone-swarm');
      await page.goto(`${WEB}/#/swarms/${halted}/agents/lead`);
      await page.locator('[data-testid=transcript-step]').first().waitFor();
      await shot(page, '21-phone-transcript');
    });

    await step('keyboard: the skip link and the kill switch dialog work without a mouse', async () => {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.goto(WEB);
      await page.getByTestId('swarm-table').waitFor();
      await page.keyboard.press('Tab');
      assert((await page.evaluate(() => document.activeElement.textContent)) === 'Skip to content', 'first Tab reaches the skip link');
      await page.keyboard.press('Enter');
      assert((await page.evaluate(() => document.activeElement.id)) === 'main', 'skip link moves focus to main');
      await page.getByRole('button', { name: 'Stop everything' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('dialog').waitFor();
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    });

    await step('stop a swarm: confirmed, then final', async () => {
      await page.goto(`${WEB}/#/swarms/${SEED}`);
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Stop the swarm' }).click();
      await page.locator('[data-testid=swarm-status][data-status=killed]').waitFor();
      assert((await page.getByRole('button', { name: 'Resume' }).count()) === 0, 'a stopped swarm offers no resume');
    });

    const relevant = consoleErrors.filter((e) => !/401|invalid API key|Failed to load resource/.test(e));
    await step('no error in the browser console', async () => {
      assert(relevant.length === 0, relevant.join('\n'));
    });
  } finally {
    writeFileSync(join(SHOTS, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    await browser.close();
  }
}

main().then(
  () => {
    log(`${passed} passed, 0 failed`);
  },
  () => {
    log(`${passed} passed, 1 failed`);
    process.exit(1);
  },
);

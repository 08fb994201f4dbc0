// The UI's browser test: playwright-core drives Debian's Chromium against a running local stack.
// tests/e2e/test_web_ui.py starts the stack, the web server and a seeded swarm, then runs this.
//
// Env: WEB_URL (the web server), KEYS (JSON {admin, operator, viewer} API keys), SEED_SID (a
// seeded swarm with 20 agents, 200 tasks and a pending approval), SCREENSHOTS (folder),
// CHROMIUM (default /usr/bin/chromium). Prints one line per step and a closing
// "N passed, N failed" line; exits non-zero on the first failure.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const WEB = process.env.WEB_URL ?? 'http://127.0.0.1:58080';
const KEYS = JSON.parse(process.env.KEYS ?? '{}');
const SEED = process.env.SEED_SID;
const SHOTS = process.env.SCREENSHOTS ?? join(import.meta.dirname, '../../../test-artifacts/screenshots');
const GOAL = 'Write a short field guide to running a bake sale';
const RENDER_BUDGET_MS = 1000;
mkdirSync(SHOTS, { recursive: true });

const timings = {};
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

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
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

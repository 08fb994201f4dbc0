// Every view rendered with hostile data: what agents, web pages, webhooks or other operators
// wrote must show as text, never as HTML (no element, attribute or link made from it).
// The live Firestore hooks are replaced by fixed documents; everything else is the real view.
import { createElement as h } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { plainDeep } from '../logic/format.js';

const fake = vi.hoisted(() => ({ session: null, queries: {}, docs: {}, route: { name: 'swarms' } }));

vi.mock('../live.js', async (original) => {
  const live = await original();
  // Documents go through the real docData, as a snapshot's would.
  const read = ({ id, ...data }) => live.docData({ id, data: () => data, ref: { parent: { parent: null } } });
  return {
    ...live,
    useSession: () => fake.session,
    useLiveQuery: (build, deps) => ({ docs: (fake.queries[deps[0]] ?? []).map(read), error: null }),
    useLiveDoc: (build, deps) => ({ doc: fake.docs[deps[0]] ? read(fake.docs[deps[0]]) : null, error: null }),
    useNow: () => Date.parse('2026-06-01T12:00:00Z'),
  };
});
vi.mock('../router.js', async (original) => ({ ...(await original()), useRoute: () => fake.route }));

const { SwarmList } = await import('./SwarmList.jsx');
const { SwarmView } = await import('./SwarmView.jsx');
const AgentView = (await import('./AgentView.jsx')).default;
const ApprovalsPage = (await import('./ApprovalsPage.jsx')).default;
const { TranscriptBody } = await import('./Transcript.jsx');
const { default: Workspace, ArtifactBody, DiffBody } = await import('./Workspace.jsx');
const { Header } = await import('../components/Header.jsx');
const { KillSwitchBanner } = await import('../components/KillSwitch.jsx');
const { SignIn } = await import('../components/SignIn.jsx');
const { AnnounceProvider } = await import('../components/ui.jsx');

// Each a way text could turn into markup, a script, a link or a lie about direction.
const HOSTILE = [
  'Fix the [/] bug',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  '"><svg onload=alert(3)>',
  "'><iframe src=javascript:alert(4)></iframe>",
  'javascript:alert(5)',
  '[click](javascript:alert(6))',
  '{{constructor.constructor("alert(7)")()}}',
  '&lt;b&gt;already-escaped&amp;',
  '\u202eevil\u202c',
  '\x1b]0;pwned\x07',
  'nul\x00end',
].join(' ');
// What a reader must see: the same without the characters that only change how it is drawn.
const VISIBLE = HOSTILE.replace(/[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f]/g, '');
const LONG = 'L'.repeat(100_000);
const AID = '"><img src=x onerror=alert(8)>';
const SID = 's-hostile';
const AT = '2026-06-01T11:59:00Z';

const agent = (id, extra = {}) => ({
  id, name: id, role: id === 'lead' ? 'lead' : 'teammate', role_description: HOSTILE, status: 'running',
  model: HOSTILE, activity: HOSTILE, last_error: HOSTILE, instructions: HOSTILE, parent_id: 'lead',
  turns: 3, usage: { cost_usd: 0.5, input_tokens: 10, output_tokens: 5 }, allowance: { usd: 1 }, spent: { usd: 0.5 },
  ...extra,
});
const approval = { id: 'ap-1', _swarm: SID, agent_id: AID, action: HOSTILE, detail: HOSTILE, status: 'pending', created_at: AT };
// An external (MCP) call held for approval, every part of it hostile.
const callApproval = {
  ...approval,
  id: 'ap-2',
  call: { server: HOSTILE, tool: HOSTILE, arguments: { [HOSTILE]: HOSTILE, nested: [HOSTILE] } },
};
const transcript = [
  {
    object: `${SID}/lead/turns/1-t/0-call.json`,
    record: {
      request: { model: HOSTILE, messages: [{ role: 'user', content: [{ type: 'text', text: HOSTILE }] }] },
      response: {
        content: [
          { type: 'text', text: `${HOSTILE}\n${LONG}` },
          { type: 'tool_use', id: 'tu1', name: HOSTILE, input: { body: HOSTILE } },
        ],
        stop_reason: HOSTILE,
      },
    },
  },
  { record: { request: { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu1', content: HOSTILE, is_error: true }] }] } } },
  // Server tools bring the web's own text and links: titles, pages, program output, citations.
  {
    record: {
      response: {
        content: [
          { type: 'server_tool_use', id: 's1', name: 'web_search', input: { query: HOSTILE } },
          {
            type: 'web_search_tool_result',
            tool_use_id: 's1',
            content: [
              { type: 'web_search_result', url: 'javascript:alert(9)', title: HOSTILE, page_age: HOSTILE, encrypted_content: 'x' },
              { type: 'web_search_result', url: `https://a.example/"><script>alert(10)</script>`, title: HOSTILE, page_age: null },
            ],
          },
          { type: 'server_tool_use', id: 's2', name: 'web_fetch', input: { url: 'data:text/html,<script>alert(11)</script>' } },
          {
            type: 'web_fetch_tool_result',
            tool_use_id: 's2',
            content: { type: 'web_fetch_result', url: 'data:text/html,<script>alert(11)</script>', content: { type: 'document', title: HOSTILE, source: { type: 'text', data: HOSTILE } } },
          },
          { type: 'server_tool_use', id: 's3', name: 'bash_code_execution', input: { command: HOSTILE } },
          { type: 'bash_code_execution_tool_result', tool_use_id: 's3', content: { type: 'bash_code_execution_result', stdout: HOSTILE, stderr: HOSTILE, return_code: 1 } },
          { type: 'text', text: HOSTILE, citations: [{ type: 'web_search_result_location', url: 'javascript:alert(12)', title: HOSTILE, cited_text: HOSTILE }] },
        ],
      },
    },
  },
].map((l) => JSON.stringify(l)).join('\n');

function seed() {
  fake.session = {
    role: 'admin', subject: HOSTILE, phase: 'signed-out', notice: HOSTILE, error: HOSTILE,
    session: { api: { get: async () => '', post: async () => ({}) }, signIn() {}, signOut() {} },
  };
  fake.docs = {
    swarm: { id: SID, goal: `${HOSTILE} ${LONG}`, status: 'running', status_reason: HOSTILE, summary: HOSTILE, budget: { usd: 5 },
      tools: { [HOSTILE]: {}, mcp: [{ name: HOSTILE, url: HOSTILE, policy: { [HOSTILE]: HOSTILE } }] }, task_count: 2, tasks_done: 1, created_at: AT },
    agent: agent(AID, { id: AID }),
    kill_switch: { engaged: true, actor: HOSTILE, reason: HOSTILE, at: AT },
  };
  fake.queries = {
    swarms: [fake.docs.swarm],
    agents: [agent('lead', { activity: LONG }), agent(AID)],
    tasks: [
      { id: 't1', title: HOSTILE, description: HOSTILE, status: 'done', owner: AID, result: HOSTILE, blocked_by: [], blocks: ['t2'], created_at: AT },
      { id: 't2', title: LONG, description: LONG, status: 'blocked', owner: 'lead', blocked_by: ['t1'], waiting_on: ['t1'], blocks: [], created_at: AT },
    ],
    messages: [
      { id: 'm1', from: `human:${HOSTILE}`, to: AID, body: HOSTILE, kind: 'message', read: false, created_at: AT },
      { id: 'm2', from: AID, to: 'lead', body: LONG, kind: HOSTILE, read: true, created_at: AT },
    ],
    mail: [{ id: 'm1', from: AID, to: AID, body: HOSTILE, kind: 'message', created_at: AT }],
    events: [
      { id: 'e1', kind: 'artifact_written', actor: HOSTILE, summary: HOSTILE, data: { name: HOSTILE }, at: AT },
      { id: 'e2', kind: HOSTILE, actor: AID, summary: LONG, at: AT },
    ],
    approvals: [approval, callApproval],
    turns: [
      {
        id: 'tu1', agent_id: AID, turn: 1, outcome: HOSTILE, detail: HOSTILE, started_at: '2026-06-01T11:58:00Z', ended_at: AT, dur_s: 60,
        calls: 1, tokens: 10, cost_usd: 0.01, tool_count: 1, tool_errors: 0, approval: HOSTILE, retry_attempt: 1,
        model_calls: [{ seq: 1, at_s: 0, dur_s: 30, tokens: 10, cost_usd: 0.01 }], tools: [{ name: HOSTILE, at_s: 30, dur_s: 1, is_error: true }],
      },
    ],
    audit: [{ id: 'k1', engaged: true, actor: HOSTILE, reason: HOSTILE, at: '2026-06-01T11:58:30Z' }],
    'pending-approvals': [approval, callApproval],
    artifacts: [
      { id: 'k1', path: HOSTILE, version: 2, size: 10, updated_by: HOSTILE, updated_at: AT },
      { id: 'k2', path: 'docs/plan.md', version: 1, size: 3, updated_by: AID, updated_at: AT },
    ],
    dead_letters: [{ id: 'd1', reason: HOSTILE, source: HOSTILE, detail: HOSTILE, message: HOSTILE, at: AT }],
  };
  fake.queries['recent-events'] = fake.queries.events;
}

const VIEWS = {
  'swarm list': () => h(SwarmList),
  ...Object.fromEntries(
    ['overview', 'tasks', 'messages', 'activity', 'timeline', 'workspace', 'costs', 'approvals'].map((tab) => [`swarm ${tab}`, () => h(SwarmView, { sid: SID, tab })]),
  ),
  ...Object.fromEntries(['transcript', 'inbox', 'sent'].map((tab) => [`agent ${tab}`, () => h(AgentView, { sid: SID, aid: AID, tab })])),
  'workspace files': () => h(Workspace, { sid: SID, artifacts: fake.queries.artifacts.map((a) => plainDeep(a)) }),
  'artifact markdown': () => h(ArtifactBody, { path: 'r.md', contentType: 'text/markdown; charset=utf-8', text: `# ${HOSTILE}\n\n${HOSTILE}\n\n- ${HOSTILE}\n` }),
  'artifact code': () => h(ArtifactBody, { path: 'a.py', contentType: 'text/plain; charset=utf-8', text: `x = "${HOSTILE}"` }),
  'artifact text': () => h(ArtifactBody, { path: 'notes.txt', contentType: 'text/plain; charset=utf-8', text: HOSTILE }),
  'artifact download': () => h(ArtifactBody, { path: `${HOSTILE}.bin`, contentType: HOSTILE, text: null, blob: null, version: 1 }),
  'artifact diff': () => h(DiffBody, { before: 'first line\n', after: `first line\n${HOSTILE}\n`, from: 1, to: 2 }),
  'transcript steps': () => h(TranscriptBody, { text: transcript, error: new Error(HOSTILE) }),
  'approvals page': () => h(ApprovalsPage),
  header: () => h(Header),
  'kill switch banner': () => h(KillSwitchBanner),
  'sign in': () => h(SignIn),
};

const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'srcset']);
const DANGEROUS_TAGS = new Set(['script', 'iframe', 'img', 'object', 'embed', 'link', 'meta', 'base', 'style']);

/** Every element and attribute of the markup. React escapes < > & " ' in text and attribute
 *  values alike, so every raw "<" opens a real element. */
function elements(html) {
  return [...html.matchAll(/<([a-zA-Z][\w:-]*)((?:\s[^>]*)?)\/?>/g)].map(([, tag, rest]) => ({
    tag: tag.toLowerCase(),
    attrs: [...rest.matchAll(/\s([^\s=/>]+)(?:="([^"]*)")?/g)].map(([, name, value]) => [name.toLowerCase(), value ?? '']),
  }));
}

function textOf(html) {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('hostile text in every view', () => {
  for (const [name, view] of Object.entries(VIEWS)) {
    it(`${name}: shows it as text, makes no element, attribute or link of it`, () => {
      seed();
      const html = renderToStaticMarkup(h(AnnounceProvider, null, view()));
      for (const { tag, attrs } of elements(html)) {
        expect(DANGEROUS_TAGS.has(tag), `<${tag}> in ${name}`).toBe(false);
        for (const [attr, value] of attrs) {
          expect(attr.startsWith('on'), `${attr}= on <${tag}>`).toBe(false);
          if (URL_ATTRS.has(attr)) {
            // In-app links are hash routes; anything else would have to be plain http(s).
            expect(value, `${attr}="${value}"`).toMatch(/^(#|https?:\/\/)/);
          }
          // Text in aria-label, title or data-* is inert; in a style it would not be.
          if (attr === 'style') expect(value, `style on <${tag}>`).not.toMatch(/alert|javascript|url\(/i);
        }
      }
      const text = textOf(html);
      expect(text, `${name} shows the hostile text as typed`).toContain(VISIBLE);
      expect(html, `${name} passes a bidi override or a control character on`).not.toMatch(/[\u202a-\u202e\u2066-\u2069\x00\x1b\x07]/);
    });
  }

  it('draws the hostile turn on the timeline (its text only in titles) and the cost chart', () => {
    seed();
    const tl = renderToStaticMarkup(h(AnnounceProvider, null, h(SwarmView, { sid: SID, tab: 'timeline' })));
    expect(tl).toContain('data-testid="swarm-timeline"');
    expect(tl).toContain('data-testid="timeline-bar"');
    expect(tl).toContain('data-testid="timeline-band"');
    const costs = renderToStaticMarkup(h(AnnounceProvider, null, h(SwarmView, { sid: SID, tab: 'costs' })));
    expect(costs).toContain('data-testid="cost-chart"');
  });

  it('shows an external call held for approval whole, and the swarm\'s tool policy', () => {
    seed();
    const approvals = renderToStaticMarkup(h(AnnounceProvider, null, h(SwarmView, { sid: SID, tab: 'approvals' })));
    expect(approvals).toContain('data-testid="external-call"');
    expect(textOf(approvals)).toContain('"nested"');
    const overview = renderToStaticMarkup(h(AnnounceProvider, null, h(SwarmView, { sid: SID, tab: 'overview' })));
    expect(overview).toContain('data-testid="tool-policy"');
    expect(textOf(overview)).toContain('MCP server');
  });

  it('keeps an agent id with markup in it inside the hash route, encoded', () => {
    seed();
    const html = renderToStaticMarkup(h(AnnounceProvider, null, h(SwarmView, { sid: SID, tab: 'overview' })));
    expect(html).toContain(`href="#/swarms/${SID}/agents/${encodeURIComponent(AID)}"`);
  });
});

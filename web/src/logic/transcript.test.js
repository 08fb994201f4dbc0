import { describe, expect, it } from 'vitest';
import { describeBlock, parseJsonLines, parseTurnText, safeUrl, transcriptSteps, transcriptTotals } from './transcript.js';

const turnText = `<turn>${JSON.stringify({
  agent: 'w1',
  inbox: [{ id: 'm1', from: 'lead', kind: 'message', body: 'write the intro' }],
  board: { counts: { ready: 2, done: 1, blocked: 0 } },
})}</turn>`;

const call1 = {
  request: {
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: [{ type: 'text', text: turnText }] }],
  },
  response: {
    content: [
      { type: 'text', text: 'I will claim t1.\nThen write.' },
      { type: 'tool_use', id: 'tu1', name: 'claim_task', input: { task_id: 't1' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 1200, output_tokens: 80, cache_read_tokens: 1000, cache_write_tokens: 0 },
  },
  cost_usd: 0.004,
};
const call2 = {
  request: {
    model: 'claude-sonnet-4-5',
    messages: [
      ...call1.request.messages,
      { role: 'assistant', content: call1.response.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu1', content: '{"task":{"id":"t1","status":"in_progress"}}' }] },
    ],
  },
  response: { content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', usage: { input_tokens: 1300, output_tokens: 5 } },
  cost_usd: 0.001,
};

describe('transcript', () => {
  it('parses JSON lines and counts bad ones', () => {
    const { records, bad } = parseJsonLines(`${JSON.stringify(call1)}\n\nnot json\n${JSON.stringify(call2)}\n`);
    expect(records).toHaveLength(2);
    expect(bad).toBe(1);
  });

  it('unwraps the API lines ({object, record}), takes the turn from the object name, reports an error line', () => {
    const lines = [
      { object: 's-1/w1/turns/00003-abc/001-call.json', record: call1 },
      { error: { code: 'unavailable', message: 'transcript read failed; retry' } },
    ].map((l) => JSON.stringify(l));
    const { records, error } = parseJsonLines(lines.join('\n'));
    expect(records).toHaveLength(1);
    expect(records[0].turn).toBe(3);
    expect(records[0].cost_usd).toBe(0.004);
    expect(error.message).toMatch(/retry/);
    expect(transcriptSteps(records)[0].turn).toBe(3);
  });

  it('reads the turn opener', () => {
    expect(parseTurnText(turnText).agent).toBe('w1');
    expect(parseTurnText('plain text')).toBeNull();
    const b = describeBlock({ type: 'text', text: turnText });
    expect(b.kind).toBe('turn');
    expect(b.title).toBe('Turn starts: 1 new message; board: 2 ready, 1 done');
  });

  it('describes tool calls and results readably', () => {
    expect(describeBlock(call1.response.content[1])).toMatchObject({ kind: 'tool_use', title: 'claim_task(task_id: t1)', name: 'claim_task' });
    const r = describeBlock({ type: 'tool_result', tool_use_id: 'tu1', content: '{"error":"no"}', is_error: true });
    expect(r).toMatchObject({ kind: 'tool_result', isError: true, title: 'Error: {"error":"no"}' });
    expect(r.body).toBe('{\n  "error": "no"\n}');
  });

  it('shows for each call only what is new since the model last spoke', () => {
    const steps = transcriptSteps([call1, call2]);
    expect(steps[0].input.map((b) => b.kind)).toEqual(['turn']);
    expect(steps[0].output.map((b) => b.kind)).toEqual(['text', 'tool_use']);
    expect(steps[0].toolCalls).toEqual(['claim_task']);
    expect(steps[0].usage).toEqual({ input: 1200, output: 80, cacheRead: 1000, cacheWrite: 0 });
    expect(steps[1].input.map((b) => b.kind)).toEqual(['tool_result']);
    expect(steps[1].stopReason).toBe('end_turn');
  });

  it('marks where the context was compacted or cleared, and why', () => {
    const block = { type: 'compaction', content: 'Summary of the work so far.\nMore.', signature: 'ab' };
    const record = {
      ...call2,
      response: { ...call2.response, content: [block, ...call2.response.content] },
      context_edits: [{ type: 'clear_tool_uses_20250919', cleared_tool_uses: 8, cleared_input_tokens: 30000 }, { type: 'compact_20260112' }],
    };
    const [step] = transcriptSteps([record]);
    expect(step.output[0]).toMatchObject({ kind: 'compaction', title: 'Context compacted: Summary of the work so far.' });
    expect(step.contextEdits).toBe('cleared 8 tool results, compacted');
    expect(transcriptSteps([call1])[0].contextEdits).toBe('');
  });

  it('totals calls, tool calls, tokens and cost', () => {
    const t = transcriptTotals(transcriptSteps([call1, call2]));
    expect(t).toMatchObject({ calls: 2, toolCalls: 1, input: 2500, output: 85 });
    expect(t.costUsd).toBeCloseTo(0.005);
  });

  it('shows a search with its result links, a fetched page, code with its output, and citations', () => {
    // The shapes the local model server answers with (emulators/model_server/server_tools.py).
    const content = [
      { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'cold starts' } },
      {
        type: 'web_search_tool_result',
        tool_use_id: 'srvtoolu_1',
        content: [
          { type: 'web_search_result', url: 'https://bench.example.org/cold', title: 'Cold starts', page_age: '3 days ago', encrypted_content: 'RW5j' },
          { type: 'web_search_result', url: 'javascript:alert(1)', title: 'Bad', page_age: null, encrypted_content: 'RW5j' },
        ],
      },
      { type: 'server_tool_use', id: 'srvtoolu_2', name: 'web_fetch', input: { url: 'https://bench.example.org/cold' } },
      {
        type: 'web_fetch_tool_result',
        tool_use_id: 'srvtoolu_2',
        content: {
          type: 'web_fetch_result',
          url: 'https://bench.example.org/cold',
          retrieved_at: '2026-12-01T09:00:00Z',
          content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'runtime,median_s\n' }, title: 'Cold starts' },
        },
      },
      { type: 'server_tool_use', id: 'srvtoolu_3', name: 'bash_code_execution', input: { command: 'python3 t.py' } },
      {
        type: 'bash_code_execution_tool_result',
        tool_use_id: 'srvtoolu_3',
        content: { type: 'bash_code_execution_result', stdout: '| a | b |\n', stderr: 'warn', return_code: 0, content: [] },
      },
      {
        type: 'text',
        text: 'Cloud Run starts faster.',
        citations: [{ type: 'web_search_result_location', url: 'https://bench.example.org/cold', title: 'Cold starts', cited_text: 'Median 0.8 s', encrypted_index: 'eA==' }],
      },
    ];
    const [use, hits, , page, run, out, said] = content.map(describeBlock);
    expect(use).toMatchObject({ kind: 'server_tool_use', title: 'Searches the web: cold starts', name: 'web_search' });
    expect(hits.kind).toBe('search_results');
    expect(hits.title).toBe('2 search results: Cold starts');
    expect(hits.links[0]).toEqual({ url: 'https://bench.example.org/cold', href: 'https://bench.example.org/cold', title: 'Cold starts', age: '3 days ago' });
    expect(hits.links[1].href).toBeNull(); // shown, never linked
    expect(page).toMatchObject({ kind: 'fetched_page', title: 'Fetched: Cold starts', body: 'runtime,median_s\n' });
    expect(page.links[0].href).toBe('https://bench.example.org/cold');
    expect(run).toMatchObject({ kind: 'server_tool_use', title: 'Runs code: python3 t.py', body: 'python3 t.py' });
    expect(out).toMatchObject({ kind: 'code_result', body: '| a | b |\n', stderr: 'warn', returnCode: 0, isError: false });
    expect(said.citations).toEqual([{ url: 'https://bench.example.org/cold', href: 'https://bench.example.org/cold', title: 'Cold starts', cited: 'Median 0.8 s' }]);
    const step = transcriptSteps([{ request: {}, response: { content, stop_reason: 'pause_turn' } }])[0];
    expect(step.toolCalls).toEqual(['web_search', 'web_fetch', 'bash_code_execution']);
    expect(step.stopReason).toBe('pause_turn');
  });

  it('shows a failed search and a failed command as errors', () => {
    const failed = describeBlock({ type: 'web_search_tool_result', tool_use_id: 's', content: { type: 'web_search_tool_result_error', error_code: 'max_uses_exceeded' } });
    expect(failed).toMatchObject({ kind: 'search_results', isError: true, title: 'Search failed: max_uses_exceeded' });
    const exit = describeBlock({ type: 'bash_code_execution_tool_result', tool_use_id: 'c', content: { type: 'bash_code_execution_result', stdout: '', stderr: 'boom', return_code: 2 } });
    expect(exit).toMatchObject({ kind: 'code_result', isError: true, returnCode: 2, title: 'Code output (exit 2): boom' });
  });

  it('links only http(s) URLs', () => {
    expect(safeUrl('https://a.org/x?y=1')).toBe('https://a.org/x?y=1');
    expect(safeUrl('http://a.org')).toBe('http://a.org/');
    for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,x', '/relative', 'a.org', '', null, 5]) {
      expect(safeUrl(bad), String(bad)).toBeNull();
    }
  });

  it('survives records without a request or response', () => {
    expect(transcriptSteps([{}])[0]).toMatchObject({ n: 1, input: [], output: [], costUsd: 0 });
  });
});

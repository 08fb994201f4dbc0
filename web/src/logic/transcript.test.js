import { describe, expect, it } from 'vitest';
import { describeBlock, parseJsonLines, parseTurnText, transcriptSteps, transcriptTotals } from './transcript.js';

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

  it('totals calls, tool calls, tokens and cost', () => {
    const t = transcriptTotals(transcriptSteps([call1, call2]));
    expect(t).toMatchObject({ calls: 2, toolCalls: 1, input: 2500, output: 85 });
    expect(t.costUsd).toBeCloseTo(0.005);
  });

  it('survives records without a request or response', () => {
    expect(transcriptSteps([{}])[0]).toMatchObject({ n: 1, input: [], output: [], costUsd: 0 });
  });
});

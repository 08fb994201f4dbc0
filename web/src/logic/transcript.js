// An agent's transcript turned into readable steps. GET .../transcript answers JSON lines,
// one per model call: {"object": "<sid>/<aid>/turns/<turn>-<id>/<seq>-call.json",
// "record": {request, response, cost_usd}}; a read failing midway ends with {"error": {...}}.

const TURN_IN_OBJECT = /\/turns\/(\d+)-/;

/** Parse JSON lines; a bad line is counted, never fatal; an error line is reported. */
export function parseJsonLines(text) {
  const records = [];
  let bad = 0;
  let error = null;
  for (const line of String(text ?? '').split('\n')) {
    const s = line.trim();
    if (!s) continue;
    let obj;
    try {
      obj = JSON.parse(s);
    } catch {
      bad += 1;
      continue;
    }
    if (obj?.error && !obj.record && !obj.request) {
      error = obj.error;
      continue;
    }
    if (obj?.record) {
      const m = TURN_IN_OBJECT.exec(obj.object ?? '');
      records.push({ ...obj.record, turn: obj.record.turn ?? (m ? Number(m[1]) : null) });
    } else {
      records.push(obj);
    }
  }
  return { records, bad, error };
}

function contentBlocks(content) {
  if (content == null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [content];
}

const TURN_RE = /<turn>([\s\S]*?)<\/turn>/;

/** The turn opener ({agent, inbox, board} between <turn> tags) if this text is one. */
export function parseTurnText(text) {
  const m = TURN_RE.exec(String(text ?? ''));
  if (!m) return null;
  try {
    return JSON.parse(m[1]);
  } catch {
    return null;
  }
}

function pretty(value) {
  if (typeof value !== 'string') return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

function resultText(content) {
  if (typeof content === 'string') return content;
  return contentBlocks(content)
    .map((b) => (b.type === 'text' ? b.text : JSON.stringify(b)))
    .join('\n');
}

function firstLine(text, max = 120) {
  const line = String(text ?? '').trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** One content block as {kind, title, body, isError}. */
export function describeBlock(block) {
  switch (block?.type) {
    case 'text': {
      const turn = parseTurnText(block.text);
      if (turn) {
        const inbox = turn.inbox ?? [];
        const counts = turn.board?.counts ?? {};
        const board = Object.entries(counts)
          .filter(([, n]) => n)
          .map(([k, n]) => `${n} ${k.replace('_', ' ')}`)
          .join(', ');
        return {
          kind: 'turn',
          title: `Turn starts: ${inbox.length} new message${inbox.length === 1 ? '' : 's'}${board ? `; board: ${board}` : ''}`,
          body: JSON.stringify(turn, null, 2),
          inbox,
        };
      }
      return { kind: 'text', title: firstLine(block.text), body: block.text ?? '' };
    }
    case 'tool_use': {
      const input = block.input ?? {};
      const args = Object.entries(input)
        .slice(0, 3)
        .map(([k, v]) => `${k}: ${firstLine(typeof v === 'string' ? v : JSON.stringify(v), 40)}`)
        .join(', ');
      return {
        kind: 'tool_use',
        title: `${block.name}(${args})`,
        body: pretty(input),
        name: block.name,
        id: block.id,
      };
    }
    case 'tool_result': {
      const text = resultText(block.content);
      return {
        kind: 'tool_result',
        title: `${block.is_error ? 'Error' : 'Result'}: ${firstLine(text)}`,
        body: pretty(text),
        isError: Boolean(block.is_error),
        id: block.tool_use_id,
      };
    }
    default:
      return { kind: 'other', title: block?.type ?? 'block', body: pretty(block) };
  }
}

/** The messages a call added since the model last spoke: the turn opener or tool results. */
function newInput(messages) {
  const list = messages ?? [];
  let i = list.length;
  while (i > 0 && list[i - 1].role !== 'assistant') i -= 1;
  return list.slice(i);
}

function usageOf(response) {
  const u = response?.usage ?? {};
  return {
    input: Number(u.input_tokens) || 0,
    output: Number(u.output_tokens) || 0,
    cacheRead: Number(u.cache_read_tokens ?? u.cache_read_input_tokens) || 0,
    cacheWrite: Number(u.cache_write_tokens ?? u.cache_creation_input_tokens) || 0,
  };
}

/** Records -> steps: what went in, what came out, what it cost. */
export function transcriptSteps(records) {
  return (records ?? []).map((r, i) => {
    const request = r.request ?? {};
    const response = r.response ?? {};
    const input = newInput(request.messages).flatMap((m) => contentBlocks(m.content).map(describeBlock));
    const output = contentBlocks(response.content).map(describeBlock);
    return {
      n: i + 1,
      turn: r.turn ?? null,
      model: request.model ?? response.model ?? '',
      costUsd: Number(r.cost_usd) || 0,
      usage: usageOf(response),
      stopReason: response.stop_reason ?? '',
      input,
      output,
      toolCalls: output.filter((b) => b.kind === 'tool_use').map((b) => b.name),
    };
  });
}

export function transcriptTotals(steps) {
  return steps.reduce(
    (t, s) => ({
      calls: t.calls + 1,
      costUsd: t.costUsd + s.costUsd,
      input: t.input + s.usage.input,
      output: t.output + s.usage.output,
      toolCalls: t.toolCalls + s.toolCalls.length,
    }),
    { calls: 0, costUsd: 0, input: 0, output: 0, toolCalls: 0 },
  );
}

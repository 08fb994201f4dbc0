// An agent's transcript turned into readable steps. GET .../transcript answers JSON lines,
// one per model call: {"object": "<sid>/<aid>/turns/<turn>-<id>/<seq>-call.json",
// "record": {request, response, cost_usd, context_edits}}; a read failing midway ends with
// {"error": {...}}.

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
      records.push({ ...obj.record, turn: obj.record.turn ?? (m ? Number(m[1]) : null), object: obj.object ?? null });
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

/** An http(s) URL to link to, as its parsed href; null for anything else (javascript:, data:,
 *  relative or malformed), which is shown as text only. Search results and fetched pages come
 *  from the web, so their URLs are outside data. */
export function safeUrl(url) {
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function link(url, title, extra = {}) {
  const text = String(url ?? '');
  return { url: text, href: safeUrl(text), title: String(title || text), ...extra };
}

/** A text block's citations (search results, fetched documents) as links: what it cites. */
function citationsOf(block) {
  return (Array.isArray(block?.citations) ? block.citations : []).map((c) =>
    c?.url
      ? link(c.url, c.title, { cited: c.cited_text ?? '' })
      : { url: '', href: null, title: String(c?.document_title || c?.type || 'source'), cited: c?.cited_text ?? '' },
  );
}

const SERVER_USE = {
  web_search: (i) => `Searches the web: ${firstLine(i.query ?? '', 100)}`,
  web_fetch: (i) => `Fetches ${firstLine(i.url ?? '', 100)}`,
  bash_code_execution: (i) => `Runs code: ${firstLine(i.command ?? '', 100)}`,
  code_execution: (i) => `Runs code: ${firstLine(i.code ?? i.command ?? '', 100)}`,
  text_editor_code_execution: (i) => `Edits ${firstLine(i.path ?? '', 100)} (${i.command ?? 'edit'})`,
};

function toolError(content) {
  const type = String(content?.type ?? '');
  return type.endsWith('_error') ? String(content.error_code ?? 'error') : null;
}

function codeOutput(block) {
  const c = block.content ?? {};
  const error = toolError(c);
  if (error) return { kind: 'code_result', title: `Code failed: ${error}`, body: pretty(c), isError: true, id: block.tool_use_id };
  if ('stdout' in c || 'stderr' in c || 'return_code' in c) {
    const code = Number(c.return_code ?? 0);
    return {
      kind: 'code_result',
      title: `Code output (exit ${code}): ${firstLine(c.stdout || c.stderr)}`,
      body: String(c.stdout ?? ''),
      stderr: String(c.stderr ?? ''),
      returnCode: code,
      isError: code !== 0,
      id: block.tool_use_id,
    };
  }
  // A text editor's result: a file viewed, created or changed.
  return { kind: 'code_result', title: `Editor: ${c.type ?? 'result'}`, body: String(c.content ?? '') || pretty(c), id: block.tool_use_id };
}

/** One content block as {kind, title, body, isError}; search results and fetched pages carry
 *  `links`, a text block its `citations`, code its `stderr` and `returnCode`. */
export function describeBlock(block) {
  switch (block?.type) {
    case 'server_tool_use': {
      const input = block.input ?? {};
      const title = (SERVER_USE[block.name] ?? ((i) => `${block.name}(${firstLine(JSON.stringify(i), 80)})`))(input);
      return { kind: 'server_tool_use', title, body: block.name?.includes('code') && input.command ? String(input.command) : pretty(input), name: block.name, id: block.id };
    }
    case 'web_search_tool_result': {
      const error = toolError(block.content);
      if (error) return { kind: 'search_results', title: `Search failed: ${error}`, body: pretty(block.content), isError: true, links: [], id: block.tool_use_id };
      const hits = (Array.isArray(block.content) ? block.content : []).filter((r) => r?.type === 'web_search_result');
      const links = hits.map((r) => link(r.url, r.title, { age: r.page_age ?? '' }));
      return {
        kind: 'search_results',
        title: `${links.length} search result${links.length === 1 ? '' : 's'}${links[0] ? `: ${firstLine(links[0].title, 80)}` : ''}`,
        body: '',
        links,
        id: block.tool_use_id,
      };
    }
    case 'web_fetch_tool_result': {
      const c = block.content ?? {};
      const error = toolError(c);
      if (error) return { kind: 'fetched_page', title: `Fetch failed: ${error}`, body: pretty(c), isError: true, links: [], id: block.tool_use_id };
      const doc = c.content ?? {};
      const source = doc.source ?? {};
      const body = source.type === 'text' ? String(source.data ?? '') : `(${source.media_type ?? source.type ?? 'document'}, not shown)`;
      return {
        kind: 'fetched_page',
        title: `Fetched: ${firstLine(doc.title || c.url, 100)}`,
        body,
        links: [link(c.url, doc.title, { age: c.retrieved_at ? `retrieved ${c.retrieved_at}` : '' })],
        id: block.tool_use_id,
      };
    }
    case 'bash_code_execution_tool_result':
    case 'code_execution_tool_result':
    case 'text_editor_code_execution_tool_result':
      return codeOutput(block);
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
      const citations = citationsOf(block);
      return { kind: 'text', title: firstLine(block.text), body: block.text ?? '', ...(citations.length ? { citations } : {}) };
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
    case 'compaction':
      // The API summarized the context here: what came before is in the earlier calls.
      return { kind: 'compaction', title: `Context compacted: ${firstLine(block.content ?? '(no summary)')}`, body: String(block.content ?? '') };
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

/** What the API's context edits did to a call ("cleared 8 tool results", "compacted"). */
export function contextEditsText(edits) {
  return (Array.isArray(edits) ? edits : [])
    .map((e) => {
      if (e?.type === 'compact_20260112') return 'compacted';
      if (e?.type === 'clear_tool_uses_20250919') {
        const n = Number(e.cleared_tool_uses) || 0;
        return `cleared ${n} tool result${n === 1 ? '' : 's'}`;
      }
      return String(e?.type ?? 'edited');
    })
    .join(', ');
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
      object: r.object ?? null, // its transcript object: the timeline opens a call by it
      model: request.model ?? response.model ?? '',
      costUsd: Number(r.cost_usd) || 0,
      usage: usageOf(response),
      stopReason: response.stop_reason ?? '',
      contextEdits: contextEditsText(r.context_edits),
      input,
      output,
      toolCalls: output.filter((b) => b.kind === 'tool_use' || b.kind === 'server_tool_use').map((b) => b.name),
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

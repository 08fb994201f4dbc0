// The swarm over time (logic/timeline.js lays it out): lanes per agent, a bar per turn with its
// model calls (dark) and tool calls (amber) inside, messages as arrows, task claims and
// completions as marks, pauses and the kill switch as bands. Zoom with the buttons or the wheel,
// scrub with the slider; the window follows the live end until moved. A click on a turn (or on
// one of its calls) opens the agent's transcript at that call.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Button, Empty } from '../components/ui.jsx';
import { clampView, layoutTimeline, LABEL_W, scrubView, timeAt, timeBounds, transcriptFocus, zoomView } from '../logic/index.js';
import { href, navigate } from '../router.js';

const OUTCOME_FILL = {
  done: '#bae6fd',
  continued: '#c7d2fe',
  idle: '#e2e8f0',
  retry: '#fed7aa',
  halted: '#fecaca',
  failed: '#fca5a5',
};

function useWidth() {
  const ref = useRef(null);
  const [width, setWidth] = useState(800);
  useLayoutEffect(() => {
    if (!ref.current) return undefined;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(320, Math.floor(e.contentRect.width))));
    ro.observe(ref.current);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function openTranscript(sid, bar, seq) {
  const f = transcriptFocus(bar, seq);
  navigate(`${href.agent(sid, bar.aid)}?turn=${encodeURIComponent(f.turn)}${f.call != null ? `&call=${f.call}` : ''}`);
}

export function Timeline({ sid, agents, turns, messages, events, audit }) {
  const now = useMemo(() => Date.now(), [turns, messages, events]); // live: moves with the data
  const [box, width] = useWidth();
  const [manual, setManual] = useState(null); // null: follow the live end, whole extent
  const bounds = useMemo(() => timeBounds({ turns, messages, events, now }), [turns, messages, events, now]);
  const view = manual ? clampView(manual, bounds) : bounds;
  const layout = useMemo(
    () => layoutTimeline({ agents, turns, messages, events, audit, view, width, now }),
    [agents, turns, messages, events, audit, view.start, view.end, width, now], // the view's ends: it is a new object each render
  );
  useEffect(() => {
    // Drawn: a mark for the browser test's render timing.
    requestAnimationFrame(() => performance.mark(`timeline-drawn:${sid}:${layout.bars.length}`));
  }, [sid, layout]);
  const zoom = (f, at) => setManual(zoomView(view, bounds, f, at));
  const onWheel = (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // plain wheel scrolls the page
    e.preventDefault();
    const rect = e.currentTarget.getBoundingClientRect();
    zoom(e.deltaY > 0 ? 1.25 : 0.8, timeAt(view, width, e.clientX - rect.left));
  };
  if (!turns.length && !messages.length) return <Empty>No turn has ended yet: the timeline fills in as agents work.</Empty>;
  return (
    <div className="space-y-2 rounded-lg border border-slate-200 bg-white p-3" data-testid="swarm-timeline" data-bars={layout.bars.length}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Button onClick={() => zoom(0.5)} aria-label="Zoom in">+</Button>
        <Button onClick={() => zoom(2)} aria-label="Zoom out">−</Button>
        <Button onClick={() => setManual(null)} aria-pressed={!manual}>
          {manual ? 'Follow live' : 'Following live'}
        </Button>
        <label className="flex min-w-48 flex-1 items-center gap-2">
          <span className="text-slate-700">Scrub</span>
          <input
            type="range"
            className="flex-1"
            data-testid="timeline-scrub"
            min={Math.floor(bounds.start)}
            max={Math.ceil(bounds.end)}
            step={1000}
            value={Math.round(view.end)}
            onChange={(e) => setManual(scrubView(view, bounds, Number(e.target.value)))}
          />
        </label>
        <span className="text-xs text-slate-600 tabular-nums">
          {layout.bars.length} turns shown · {Math.round((view.end - view.start) / 1000)} s window
        </span>
      </div>
      <Legend />
      <div ref={box} className="overflow-x-hidden" onWheel={onWheel}>
        <svg width={width} height={layout.height + 4} role="img" aria-label="Swarm timeline" className="select-none text-xs">
          <defs>
            <marker id="cs-tl-arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
              <path d="M0,0L6,3L0,6z" fill="#7c3aed" />
            </marker>
          </defs>
          {layout.lanes.map((l, i) => (
            <g key={l.id}>
              <rect x={0} y={l.y} width={width} height={26} fill={i % 2 ? '#f8fafc' : '#ffffff'} />
              <a href={href.agent(sid, l.id)}>
                <text x={4} y={l.y + 17} fill="#0f172a">{l.label.length > 16 ? `${l.label.slice(0, 15)}…` : l.label}</text>
              </a>
            </g>
          ))}
          {layout.ticks.map((k) => (
            <g key={k.t}>
              <line x1={k.x} x2={k.x} y1={16} y2={layout.height} stroke="#e2e8f0" />
              <text x={k.x + 2} y={12} fill="#475569">{k.label}</text>
            </g>
          ))}
          {layout.bands.map((b) => (
            <rect key={`${b.kind}-${b.start}`} x={b.x} y={16} width={b.w} height={layout.height - 16} fill={b.kind === 'kill' ? '#dc2626' : '#f59e0b'} opacity={0.15} data-testid="timeline-band">
              <title>{b.label}</title>
            </rect>
          ))}
          {layout.bars.map((b) => (
            <g
              key={b.id}
              role="button"
              tabIndex={0}
              aria-label={b.title}
              data-testid="timeline-bar"
              data-agent={b.aid}
              data-has-calls={b.firstCall != null ? 'true' : 'false'}
              className="cursor-pointer"
              onClick={() => openTranscript(sid, b)}
              onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && openTranscript(sid, b)}
            >
              <title>{b.title}</title>
              <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={2} fill={OUTCOME_FILL[b.outcome] ?? '#e2e8f0'} stroke={b.retry ? '#ea580c' : '#64748b'} strokeDasharray={b.retry ? '3 2' : undefined} />
              {b.calls.map((c) => (
                <rect
                  key={`c${c.seq}`}
                  x={c.x}
                  y={b.y + 2}
                  width={c.w}
                  height={b.h / 2 - 2}
                  fill="#0369a1"
                  onClick={(e) => {
                    e.stopPropagation();
                    openTranscript(sid, b, c.seq);
                  }}
                >
                  <title>{`model call ${c.seq}`}</title>
                </rect>
              ))}
              {b.tools.map((c, i) => (
                <rect key={`t${i}`} x={c.x} y={b.y + b.h / 2 + 1} width={c.w} height={b.h / 2 - 3} fill={c.isError ? '#dc2626' : '#d97706'}>
                  <title>{c.name}</title>
                </rect>
              ))}
              {b.approval && <circle cx={b.x + b.w} cy={b.y + b.h / 2} r={4} fill="#7c3aed"><title>{`waited on approval ${b.approval}`}</title></circle>}
            </g>
          ))}
          {layout.arrows.map((a) => (
            <line key={a.id} x1={a.x} x2={a.x} y1={a.y1} y2={a.y2} stroke="#7c3aed" strokeWidth={1} markerEnd="url(#cs-tl-arrow)" opacity={0.7} data-testid="timeline-arrow">
              <title>{a.title}</title>
            </line>
          ))}
          {layout.marks.map((m) => (
            <path key={m.id} d={`M${m.x},${m.y - 6}l5,6l-5,6l-5,-6z`} fill={m.kind === 'done' ? '#059669' : '#0ea5e9'} stroke="#fff" data-testid="timeline-mark">
              <title>{m.title}</title>
            </path>
          ))}
          <line x1={LABEL_W} x2={LABEL_W} y1={0} y2={layout.height} stroke="#94a3b8" />
        </svg>
      </div>
    </div>
  );
}

function Legend() {
  const item = (color, text) => (
    <span className="inline-flex items-center gap-1">
      <span className="inline-block h-3 w-3 rounded-sm" style={{ background: color }} aria-hidden="true" />
      {text}
    </span>
  );
  return (
    <p className="flex flex-wrap gap-3 text-xs text-slate-700">
      {item('#bae6fd', 'turn')}
      {item('#0369a1', 'model call')}
      {item('#d97706', 'tool call')}
      {item('#fed7aa', 'retry')}
      {item('#fecaca', 'halted')}
      {item('#7c3aed', 'message / approval')}
      {item('#0ea5e9', 'task claimed')}
      {item('#059669', 'task done')}
      {item('rgba(245,158,11,0.3)', 'paused')}
      {item('rgba(220,38,38,0.3)', 'kill switch')}
    </p>
  );
}

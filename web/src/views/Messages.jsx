import { useId, useState } from 'react';
import { Empty, fieldClass } from '../components/ui.jsx';
import { ago, clock, senderLabel } from '../logic/index.js';
import { useNow } from '../live.js';
import { MESSAGE_LIMIT } from './SwarmView.jsx';

const KIND_STYLE = {
  message: 'border-sky-300',
  goal: 'border-slate-900',
  task_update: 'border-amber-300',
  approval: 'border-violet-400',
  system: 'border-slate-300',
};

export function Messages({ messages, agents }) {
  const [who, setWho] = useState('');
  const id = useId();
  const now = useNow(10000);
  const shown = who ? messages.filter((m) => m.from === who || m.to === who) : messages;
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor={id} className="text-xs font-medium text-slate-700">
            Agent
          </label>
          <select id={id} value={who} onChange={(e) => setWho(e.target.value)} className={`${fieldClass} mt-0 py-1.5`}>
            <option value="">all agents</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id}
              </option>
            ))}
          </select>
        </div>
        <p className="text-sm text-slate-700">
          Newest first{messages.length >= MESSAGE_LIMIT ? `, the last ${MESSAGE_LIMIT}` : ''}.
        </p>
      </div>
      {shown.length === 0 ? (
        <Empty>No message yet.</Empty>
      ) : (
        <ol className="space-y-2" data-testid="message-stream">
          {shown.map((m) => (
            <MessageItem key={m.id} m={m} now={now} />
          ))}
        </ol>
      )}
    </div>
  );
}

export function MessageItem({ m, now }) {
  return (
    <li className={`rounded-md border-l-4 bg-white p-2 text-sm shadow-sm ${KIND_STYLE[m.kind] ?? KIND_STYLE.message}`} data-testid="message">
      <div className="flex flex-wrap items-baseline gap-x-2 text-xs text-slate-700">
        <span className="font-semibold text-slate-900">{senderLabel(m.from)}</span>
        <span aria-label="to">→</span>
        <span className="font-semibold text-slate-900">{m.to}</span>
        {m.kind && m.kind !== 'message' && <span className="rounded bg-slate-100 px-1">{m.kind.replace('_', ' ')}</span>}
        <span>{m.read ? 'read' : 'unread'}</span>
        <time className="ml-auto" title={clock(m.created_at)}>
          {ago(m.created_at, now)}
        </time>
      </div>
      <p className="mt-1 whitespace-pre-wrap break-words">{m.body}</p>
    </li>
  );
}

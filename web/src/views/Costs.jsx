import { agentCost, agentTokens, count, fraction, swarmSummary, usd } from '../logic/index.js';
import { Meter } from '../components/ui.jsx';
import { href } from '../router.js';
import { CostChart } from './CostChart.jsx';

export function Costs({ sid, swarm, agents, turns }) {
  const sum = swarmSummary(swarm, agents);
  const budget = swarm.budget ?? {};
  const top = Math.max(...agents.map(agentCost), 0);
  return (
    <div className="space-y-4">
      <div className="grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-4">
        <Meter label="Spent (USD)" value={sum.spendFraction} text={budget.usd != null ? `${usd(sum.spentUsd)} of ${usd(budget.usd)}` : usd(sum.spentUsd)} />
        <Meter label="Reserved for agents" value={fraction(sum.reservedUsd, budget.usd)} text={usd(sum.reservedUsd)} />
        <Meter label="Tokens" value={sum.tokenFraction} text={budget.tokens != null ? `${count(sum.tokens)} of ${count(budget.tokens)}` : count(sum.tokens)} />
        <Meter label="Turns" value={fraction(sum.turns, budget.turns)} text={budget.turns != null ? `${sum.turns} of ${budget.turns}` : String(sum.turns)} />
        <p className="text-xs text-slate-600 sm:col-span-2 lg:col-span-4">
          Budgets are fail-closed: a model call is refused when its worst case would cross a cap. “Reserved” is what agents were handed
          from the budget in advance; what they did not spend stays unspent.
        </p>
      </div>
      <CostChart turns={turns} />
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
        <table className="w-full text-left text-sm" data-testid="cost-table">
          <caption className="px-3 py-2 text-left text-sm font-semibold">Cost and tokens per agent</caption>
          <thead className="bg-slate-100 text-xs uppercase tracking-wide text-slate-700">
            <tr>
              <th scope="col" className="px-3 py-2">Agent</th>
              <th scope="col" className="px-3 py-2">Cost</th>
              <th scope="col" className="hidden px-3 py-2 sm:table-cell">Input</th>
              <th scope="col" className="hidden px-3 py-2 sm:table-cell">Output</th>
              <th scope="col" className="hidden px-3 py-2 md:table-cell">Cache read / write</th>
              <th scope="col" className="px-3 py-2">Turns</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {agents.map((a) => {
              const u = a.usage ?? {};
              const c = agentCost(a);
              return (
                <tr key={a.id}>
                  <th scope="row" className="px-3 py-2 font-medium">
                    <a className="text-sky-800 underline-offset-2 hover:underline" href={href.agent(sid, a.id)}>
                      {a.id}
                    </a>
                  </th>
                  <td className="min-w-36 px-3 py-2">
                    <Meter label={`${a.id}: cost relative to the top spender`} hideLabel value={top ? c / top : null} text={usd(c)} kind="progress" />
                  </td>
                  <td className="hidden px-3 py-2 tabular-nums sm:table-cell">{count(u.input_tokens)}</td>
                  <td className="hidden px-3 py-2 tabular-nums sm:table-cell">{count(u.output_tokens)}</td>
                  <td className="hidden px-3 py-2 tabular-nums md:table-cell">
                    {count(u.cache_read_tokens)} / {count(u.cache_write_tokens)}
                  </td>
                  <td className="px-3 py-2 tabular-nums">{a.turns ?? 0}</td>
                </tr>
              );
            })}
          </tbody>
          <tfoot className="border-t border-slate-300 font-semibold">
            <tr>
              <th scope="row" className="px-3 py-2">Swarm</th>
              <td className="px-3 py-2">{usd(sum.spentUsd)}</td>
              <td className="hidden px-3 py-2 sm:table-cell">{count(agents.reduce((s, a) => s + (a.usage?.input_tokens ?? 0), 0))}</td>
              <td className="hidden px-3 py-2 sm:table-cell">{count(agents.reduce((s, a) => s + (a.usage?.output_tokens ?? 0), 0))}</td>
              <td className="hidden px-3 py-2 md:table-cell">{count(agents.reduce((s, a) => s + agentTokens(a), 0))} total</td>
              <td className="px-3 py-2">{sum.turns}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </div>
  );
}

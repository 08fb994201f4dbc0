// Cost and tokens over time, from the per-turn records (plain SVG: two step lines, each scaled
// to its own total, so no chart library is needed for what is one cumulative sum each).
import { useMemo } from 'react';
import { Loading } from '../components/ui.jsx';
import { clock, costSeries, count, seriesPath, usd } from '../logic/index.js';

const W = 640;
const H = 140;

export function CostChart({ turns }) {
  const points = useMemo(() => costSeries(turns ?? []), [turns]);
  if (turns == null) return <Loading what="Loading cost over time" />;
  if (!points.length) return null;
  const last = points.at(-1);
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-4" data-testid="cost-chart" data-points={points.length}>
      <figcaption className="text-sm font-semibold">Cost and tokens over time</figcaption>
      <p className="text-xs text-slate-600">
        <span className="text-sky-800">— cost</span>, {usd(last.cost)} · <span className="text-amber-700">— tokens</span>, {count(last.tokens)} · from{' '}
        {clock(points[0].at)} to {clock(last.at)}, {points.length} turns
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} className="mt-2 h-36 w-full" preserveAspectRatio="none" role="img" aria-label={`Cumulative cost reaching ${usd(last.cost)} and tokens reaching ${count(last.tokens)}`}>
        <rect x={0} y={0} width={W} height={H} fill="#f8fafc" />
        <path d={seriesPath(points, 'tokens', { width: W, height: H })} fill="none" stroke="#b45309" strokeWidth={1.5} vectorEffect="non-scaling-stroke" />
        <path d={seriesPath(points, 'cost', { width: W, height: H })} fill="none" stroke="#0369a1" strokeWidth={2} vectorEffect="non-scaling-stroke" />
      </svg>
    </figure>
  );
}

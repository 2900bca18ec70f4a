import type { TopLevelSpec } from 'vega-lite';
import { formatInt, formatPercent } from '../format.js';
import { addDays, isoWeekOf } from '../period.js';
import { renderSvg } from '../render/chart.js';
import { esc, figure } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { chartLabel, mrkdwn } from './text.js';

/** The Sunday on or after a day: the as-of day of the mart's weekly results that cover it. */
const weekEnd = (day: string): string => isoWeekOf(day).end;

/**
 * Experiments running at some point of the period, every metric row as known at the end of the
 * period's week (marts.mart_experiment_results is by as-of Sunday); `weeksBefore` reads an earlier week.
 */
export async function loadExperimentResults(ctx: SectionContext, weeksBefore = 0) {
    return ctx.db
        .selectFrom('marts.mart_experiment_results')
        .selectAll()
        .where('as_of_date', '=', addDays(weekEnd(ctx.period.end), -7 * weeksBefore))
        .where('start_date', '<=', ctx.period.end)
        .where((eb) => eb.or([eb('end_date', 'is', null), eb('end_date', '>=', ctx.period.start)]))
        .orderBy('experiment_id')
        .orderBy('metric_role', 'desc')
        .orderBy('metric')
        .execute();
}
type ResultRow = Awaited<ReturnType<typeof loadExperimentResults>>[number];

const RATE_METRICS = new Set(['thumbs_up_rate', 'resolved_rate', 'escalated_rate']);
const isRate = (metric: string) => RATE_METRICS.has(metric);

/** A metric's value as read: rates in %, means to 3 decimals, latency in ms, cost in USD. */
export function formatEstimate(metric: string, value: string | null): string {
    if (value === null) return '—';
    const v = Number(value);
    if (isRate(metric)) return formatPercent(v);
    if (metric === 'latency_p95') return `${formatInt(Math.round(v))} ms`;
    if (metric === 'cost_per_request') return `$${v.toFixed(5)}`;
    return v.toFixed(3);
}

/** A difference: rate differences in percentage points. */
function formatDiff(metric: string, value: string | null): string {
    if (value === null) return '—';
    const v = Number(value);
    const sign = v > 0 ? '+' : v < 0 ? '−' : '';
    const a = Math.abs(v);
    if (isRate(metric)) return `${sign}${(100 * a).toFixed(1)} pts`;
    if (metric === 'latency_p95') return `${sign}${formatInt(Math.round(a))} ms`;
    if (metric === 'cost_per_request') return `${sign}$${a.toFixed(5)}`;
    return `${sign}${a.toFixed(3)}`;
}

export const formatP = (p: number | null): string => (p === null ? '—' : p < 0.001 ? '<0.001' : p.toFixed(3));

/** Dot (relative difference) and 95% interval per metric, in % of the control's value, zero marked. */
export function experimentIntervalSpec(rows: readonly ResultRow[]): TopLevelSpec {
    const drawn = rows.filter((r) => r.metric_role !== 'assignment' && r.ci_low !== null && Number(r.control_estimate) !== 0);
    const several = new Set(drawn.map((r) => r.experiment_id)).size > 1;
    const values = drawn.map((r) => {
        const base = Math.abs(Number(r.control_estimate));
        return {
            label: chartLabel(several ? `${r.experiment_id} · ${r.metric}` : (r.metric ?? '')),
            diff: (100 * Number(r.abs_diff)) / base,
            low: (100 * Number(r.ci_low)) / base,
            high: (100 * Number(r.ci_high)) / base,
            verdict: r.verdict,
        };
    });
    const y = { field: 'label', type: 'nominal' as const, title: null, sort: null, axis: { labelLimit: 260 } };
    const color = {
        field: 'verdict',
        type: 'nominal' as const,
        title: null,
        scale: {
            domain: ['better', 'worse', 'no detectable difference', 'not enough data', 'sample ratio mismatch'],
            range: ['#2e8540', '#c0504d', '#7b8794', '#d1a72b', '#8e44ad'],
        },
        legend: { orient: 'bottom' as const, columns: 3, labelLimit: 220 },
    };
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 480,
        height: { step: 18 },
        layer: [
            {
                data: { values: [{ zero: 0 }] },
                mark: { type: 'rule', color: '#7b8794', strokeDash: [3, 3] },
                encoding: { x: { field: 'zero', type: 'quantitative' } },
            },
            {
                data: { values },
                mark: { type: 'rule', strokeWidth: 2 },
                encoding: { y, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' }, color },
            },
            {
                data: { values },
                mark: { type: 'point', filled: true, size: 45 },
                encoding: { y, x: { field: 'diff', type: 'quantitative', title: 'Treatment − control, % of the control (95% interval)' }, color },
            },
        ],
    };
}

const assignmentNote = (rows: readonly ResultRow[], id: string): string => {
    const a = rows.find((r) => r.experiment_id === id && r.metric_role === 'assignment');
    if (!a) return '';
    const mixed = Number(a.mixed_units);
    const unit = a.assignment_unit === 'request' ? 'requests' : `${a.assignment_unit}s`;
    return `${formatInt(a.control_n ?? 0)} vs ${formatInt(a.treatment_n ?? 0)} ${unit} (p = ${formatP(a.p_value)}${a.verdict === 'sample ratio mismatch' ? ': <b>sample ratio mismatch</b>, results not trustworthy' : ''})${mixed ? `; ${formatInt(mixed)} ${unit} saw both arms and are left out` : ''}`;
};

export const experiments: ReportSection = {
    id: 'experiments',

    async html(ctx) {
        const rows = await loadExperimentResults(ctx);
        if (!rows.length)
            return {
                html: '<div class="keep"><h2>Experiments</h2>\n<div class="nodata">No experiment ran this week (models/seeds/experiments.csv)</div></div>',
            };
        const ids = [...new Set(rows.map((r) => r.experiment_id!))];
        const tables = ids
            .map((id) => {
                const metrics = rows.filter((r) => r.experiment_id === id && r.metric_role !== 'assignment');
                const first = metrics[0] ?? rows.find((r) => r.experiment_id === id)!;
                return `<h3>${esc(id)}: ${esc(first.feature)}, ${esc(first.variant_field)} ${esc(first.control_variant)} → ${esc(first.treatment_variant)}</h3>
<p class="muted">Assignment: ${assignmentNote(rows, id)}.</p>
<table class="compact"><thead><tr><th>Metric</th><th class="n">Control</th><th class="n">Treatment</th><th class="n">Difference (95% interval)</th><th class="n">p</th><th>Verdict</th></tr></thead><tbody>${metrics
                    .map(
                        (r) =>
                            `<tr><td>${esc(r.metric)}${r.metric_role === 'primary' ? ' <small>(primary)</small>' : ''}</td><td class="n">${formatEstimate(r.metric!, r.control_estimate)} <small>n=${formatInt(r.control_n ?? 0)}</small></td><td class="n">${formatEstimate(r.metric!, r.treatment_estimate)} <small>n=${formatInt(r.treatment_n ?? 0)}</small></td><td class="n">${formatDiff(r.metric!, r.abs_diff)} <small>(${formatDiff(r.metric!, r.ci_low)} to ${formatDiff(r.metric!, r.ci_high)})</small></td><td class="n">${formatP(r.adjusted_p_value)}</td><td class="verdict-${esc(r.verdict?.replaceAll(' ', '-'))}">${esc(r.verdict)}${r.verdict === 'not enough data' && r.required_n_per_arm ? ` <small>(needs ~${formatInt(r.required_n_per_arm)} per arm)</small>` : ''}</td></tr>`,
                    )
                    .join('')}</tbody></table>`;
            })
            .join('\n');
        const svg = await renderSvg(experimentIntervalSpec(rows));
        return {
            html: `<div class="page-break"><h2>Experiments</h2>
<p class="muted">Results on each experiment's data through ${esc(weekEnd(ctx.period.end))}. Rates: two-proportion z-test and Newcombe interval; eval scores and cost: Welch's t; p95 latency: order-statistic intervals. Guard metrics' p-values are Holm-adjusted; session or user assignment corrects for clustering (README, "Experiments").</p>
${figure(svg, 'No interval to draw')}
${tables}</div>`,
            figures: Object.fromEntries(rows.filter((r) => r.metric_role !== 'assignment').map((r) => [`${r.experiment_id}:${r.metric}`, r.verdict ?? ''])),
        };
    },

    async digest(ctx) {
        if (ctx.period.kind !== 'weekly' || ctx.team !== undefined) return { blocks: [] };
        // Only news: a primary verdict that is new this week or differs from last week's.
        const now = (await loadExperimentResults(ctx)).filter((r) => r.metric_role === 'primary');
        const before = new Map((await loadExperimentResults(ctx, 1)).filter((r) => r.metric_role === 'primary').map((r) => [r.experiment_id, r.verdict]));
        const changed = now.filter((r) => before.get(r.experiment_id) !== r.verdict);
        if (!changed.length) return { blocks: [] };
        const lines = changed
            .map(
                (r) =>
                    `• ${mrkdwn(r.experiment_id ?? '')} (${mrkdwn(r.control_variant ?? '')} → ${mrkdwn(r.treatment_variant ?? '')}): ${mrkdwn(r.metric ?? '')} ${formatEstimate(r.metric!, r.control_estimate)} → ${formatEstimate(r.metric!, r.treatment_estimate)}, *${r.verdict}* (p = ${formatP(r.p_value)}; ${before.has(r.experiment_id) ? `was ${before.get(r.experiment_id)}` : 'first week'})`,
            )
            .join('\n');
        return { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Experiment verdicts that changed*\n${lines}` } }] };
    },
};

import type { TopLevelSpec } from 'vega-lite';
import { formatCents, roundHalfUpCents, toUnits } from '../format.js';
import { renderSvg } from '../render/chart.js';
import { esc, figure } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { chartLabel } from './text.js';

const EFFECTS = [
    ['volume_usd', 'Volume'],
    ['mix_usd', 'Model mix'],
    ['intensity_usd', 'Tokens per request'],
    ['price_usd', 'Price per token'],
] as const;

/** The week's change against the week before, per team x feature x model (marts.mart_cost_change). */
async function loadCostChange(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_cost_change')
        .select(['team', 'feature', 'model', 'cost_usd', 'previous_cost_usd', 'change_usd', 'volume_usd', 'mix_usd', 'intensity_usd', 'price_usd'])
        .where('period_type', '=', 'week')
        .where('period_start', '=', ctx.period.start)
        .$if(ctx.team !== undefined, (qb) => qb.where('team', '=', ctx.team ?? ''))
        .execute();
}

type Row = Awaited<ReturnType<typeof loadCostChange>>[number];

/** Dollars (a numeric string) to cents, half away from zero. */
export const toCents = (v: string | null) => roundHalfUpCents(toUnits(v ?? '0'));

/**
 * The four effects in cents that add up to the change as displayed (this period's cents minus the
 * last's): volume, mix and intensity rounded, price the rest, as in the decomposition itself.
 */
export function effectsInCents(previous: string | null, current: string | null, effects: readonly (string | null)[]): bigint[] {
    const [volume, mix, intensity] = effects.slice(0, 3).map(toCents);
    return [volume, mix, intensity, toCents(current) - toCents(previous) - volume - mix - intensity];
}

export function waterfallSpec(previous: number, effects: readonly (readonly [string, number])[], current: number): TopLevelSpec {
    let level = previous;
    const bars = [{ step: 'Last week', start: 0, end: previous, kind: 'total' }];
    for (const [label, amount] of effects) {
        bars.push({ step: label, start: level, end: level + amount, kind: amount >= 0 ? 'increase' : 'decrease' });
        level += amount;
    }
    bars.push({ step: 'This week', start: 0, end: current, kind: 'total' });
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 520,
        height: 180,
        data: {
            values: bars.map((b, i) => {
                const amount = b.end - b.start;
                const sign = b.kind === 'total' ? '' : amount < 0 ? '−' : '+';
                return { ...b, order: i, label: `${sign}$${Math.abs(amount).toFixed(2)}` };
            }),
        },
        encoding: { x: { field: 'step', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labelAngle: 0 } } },
        layer: [
            {
                mark: { type: 'bar', size: 46 },
                encoding: {
                    y: { field: 'start', type: 'quantitative', title: 'Spend (USD)' },
                    y2: { field: 'end' },
                    color: {
                        field: 'kind',
                        type: 'nominal',
                        title: null,
                        scale: { domain: ['total', 'increase', 'decrease'], range: ['#5b7083', '#c0504d', '#2e8540'] },
                        legend: { orient: 'bottom' },
                    },
                },
            },
            { mark: { type: 'text', dy: -6, fontSize: 9 }, encoding: { y: { field: 'end', type: 'quantitative' }, text: { field: 'label' } } },
        ],
    };
}

export const costChange: ReportSection = {
    id: 'cost-change',

    async html(ctx) {
        if (ctx.period.kind !== 'weekly') return { html: '' };
        const rows = await loadCostChange(ctx);
        if (!rows.length)
            return { html: '<div class="keep"><h2>Why spend changed</h2><div class="nodata">No week before this one to compare with</div></div>' };
        const sum = (f: (r: Row) => string | null) => rows.reduce((a, r) => a + Number(f(r) ?? 0), 0);
        // The chart's steps and the table's cents both add up: last week + the effects = this week.
        const totals = [sum((r) => r.previous_cost_usd), ...EFFECTS.map(([k]) => sum((r) => r[k])), sum((r) => r.cost_usd)];
        const svg = await renderSvg(
            waterfallSpec(
                totals[0],
                EFFECTS.map(([, label], i) => [label, totals[i + 1]] as const),
                totals[5],
            ),
        );
        const top = [...rows].sort((a, b) => Math.abs(Number(b.change_usd)) - Math.abs(Number(a.change_usd))).slice(0, 8);
        const body = top
            .map((r) => {
                const cents = effectsInCents(
                    r.previous_cost_usd,
                    r.cost_usd,
                    EFFECTS.map(([k]) => r[k]),
                );
                return `<tr><td>${esc(chartLabel(`${r.team} / ${r.feature} / ${r.model}`))}</td><td class="n">${formatCents(toCents(r.previous_cost_usd))}</td><td class="n">${formatCents(toCents(r.cost_usd))}</td>${cents.map((c) => `<td class="n">${formatCents(c)}</td>`).join('')}</tr>`;
            })
            .join('');
        return {
            html: `<div class="keep"><h2>Why spend changed</h2>\n<p class="muted">This week against last, split into volume (requests), model mix, tokens per request and price per token (rates, tiers, cache hits): a sequential decomposition whose parts add up to the change (README, "Why spend changed").</p>${figure(svg, '')}<table class="compact"><thead><tr><th>Team / feature / model</th><th class="n">Last week</th><th class="n">This week</th>${EFFECTS.map(([, l]) => `<th class="n">${l}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table></div>`,
            figures: Object.fromEntries(EFFECTS.map(([k], i) => [`change:${k}`, totals[i + 1].toFixed(2)])),
        };
    },
};

import { sql } from 'kysely';
import { renderSvg, svgToPng } from '../render/chart.js';
import { addDays } from '../period.js';
import type { TopLevelSpec } from 'vega-lite';
import { figure } from './html.js';
import { chartLabel } from './text.js';
import type { ReportSection, SectionContext } from './section.js';

const WEEKS = 12;

/** Daily spend, stacked by team. */
export function spendTrendSpec(trend: readonly { readonly day: string; readonly team: string; readonly costUsd: string }[]): TopLevelSpec {
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 640,
        height: 170,
        data: { values: trend.map((r) => ({ day: r.day, team: chartLabel(r.team), cost: Number(r.costUsd) })) },
        mark: { type: 'bar' },
        encoding: {
            x: { field: 'day', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'Day (UTC)', axis: { format: '%b %d', labelAngle: 0, tickCount: 12 } },
            y: { field: 'cost', type: 'quantitative', aggregate: 'sum', title: 'Spend (USD)', axis: { format: '$,.0f' } },
            color: { field: 'team', type: 'nominal', title: 'Team' },
            tooltip: [{ field: 'day', type: 'temporal' }, { field: 'team' }, { field: 'cost', format: '$,.2f' }],
        },
    };
}

/** Daily spend of the last 14 days (the digest's picture). */
export function dailySpendSpec(days: readonly { readonly day: string; readonly costUsd: string }[], title: string): TopLevelSpec {
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title,
        width: 520,
        height: 180,
        data: { values: days.map((r) => ({ day: r.day, cost: Number(r.costUsd) })) },
        mark: { type: 'bar', color: '#2f6fb2' },
        encoding: {
            x: { field: 'day', type: 'ordinal', title: 'Day (UTC)', axis: { labelAngle: -40 } },
            y: { field: 'cost', type: 'quantitative', title: 'Spend (USD)', axis: { format: '$,.0f' } },
        },
    };
}

/** Daily spend by team for the 12 weeks ending with the period. */
export async function loadTrend(ctx: SectionContext) {
    const start = addDays(ctx.period.start, -7 * (WEEKS - 1));
    const rows = await ctx.db
        .selectFrom('marts.mart_daily_team_cost')
        .select((eb) => ['usage_date', 'team', sql<string>`sum(${eb.ref('cost_usd')})`.as('cost_usd')])
        .where('usage_date', '>=', start)
        .where('usage_date', '<=', ctx.period.end)
        .groupBy(['usage_date', 'team'])
        .orderBy('usage_date')
        .orderBy('team')
        .execute();
    return rows.map((r) => ({ day: r.usage_date!, team: r.team ?? '', costUsd: r.cost_usd }));
}

/** Spend per day of the 14 days ending with the period (every day, 0 when none). */
async function loadLast14Days(ctx: SectionContext) {
    const { team } = ctx;
    const rows = await ctx.db
        .selectFrom(
            sql<{ day: string }>`(select generate_series(${addDays(ctx.period.end, -13)}::date, ${ctx.period.end}::date, interval '1 day')::date as day)`.as(
                'g',
            ),
        )
        .leftJoin('marts.mart_daily_cost as c', (join) =>
            join.onRef('c.usage_date', '=', 'g.day').$call((j) => (team === undefined ? j : j.on('c.team', '=', team))),
        )
        .select((eb) => [sql<string>`${eb.ref('g.day')}::text`.as('day'), sql<string>`coalesce(sum(${eb.ref('c.cost_usd')}), 0)`.as('cost')])
        .groupBy('g.day')
        .orderBy('g.day')
        .execute();
    return rows.map((r) => ({ day: r.day, costUsd: r.cost }));
}

export const spendTrend: ReportSection = {
    id: 'spend-trend',

    async html(ctx) {
        const trend = await loadTrend(ctx);
        const svg = trend.some((r) => Number(r.costUsd) !== 0) ? await renderSvg(spendTrendSpec(trend)) : null;
        return { html: `<h2>Daily spend, last ${WEEKS} weeks, by team</h2>\n${figure(svg, `No spend in the last ${WEEKS} weeks`)}` };
    },

    /** The picture for the thread: 14 days of daily spend. */
    async digest(ctx) {
        const title = `Daily spend, last 14 days${ctx.team ? ` (${chartLabel(ctx.team)})` : ''}`;
        const png = svgToPng(await renderSvg(dailySpendSpec(await loadLast14Days(ctx), title)));
        const safe = ctx.period.label.replace(/[^A-Za-z0-9_.-]+/g, '_');
        return { blocks: [], files: [{ filename: `spend-${safe}.png`, title, data: png }] };
    },
};

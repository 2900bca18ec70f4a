import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../render/chart.js';
import { figure } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { chartLabel } from './text.js';

/** Per feature and stage over the period: the stage's share of end-to-end latency (time-weighted). */
async function loadStageShares(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_daily_stage_latency')
        .select((eb) => [
            'feature',
            'stage',
            eb.fn.sum<string>('requests').as('requests'),
            eb.fn.sum<string>(eb('latency_share', '*', eb.ref('staged_requests'))).as('weighted_share'),
            eb.fn.sum<string>('staged_requests').as('staged'),
        ])
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .groupBy(['feature', 'stage'])
        .orderBy('feature')
        .orderBy('stage')
        .execute();
}

export function stageShareSpec(rows: Awaited<ReturnType<typeof loadStageShares>>): TopLevelSpec {
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 520,
        height: { step: 20 },
        data: {
            values: rows.map((r) => ({
                feature: chartLabel(r.feature ?? ''),
                stage: chartLabel(r.stage ?? ''),
                share: (100 * Number(r.weighted_share)) / Number(r.staged),
            })),
        },
        mark: { type: 'bar' },
        encoding: {
            y: { field: 'feature', type: 'nominal', title: null },
            x: { field: 'share', type: 'quantitative', title: '% of end-to-end latency', stack: 'zero', scale: { domain: [0, 100] } },
            color: { field: 'stage', type: 'nominal', title: 'Stage', legend: { orient: 'bottom' } },
        },
    };
}

export const stageLatency: ReportSection = {
    id: 'stage-latency',

    async html(ctx) {
        const rows = await loadStageShares(ctx);
        const svg = rows.length ? await renderSvg(stageShareSpec(rows)) : null;
        return {
            html: `<div class="keep"><h2>Where the time goes</h2>\n<p class="muted">Share of end-to-end latency per stage, for requests that report stages (weighted by requests per day).</p>${figure(svg, 'No request reported stages this week')}</div>`,
        };
    },
};

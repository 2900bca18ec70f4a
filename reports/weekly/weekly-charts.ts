import type { TopLevelSpec } from 'vega-lite';
import type { WeeklyData } from './weekly-data.js';

/** Daily spend for the last 12 weeks, stacked by team. */
export function spendTrendSpec(data: WeeklyData): TopLevelSpec {
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 640,
        height: 170,
        data: { values: data.trend.map((r) => ({ day: r.day, team: r.team, cost: Number(r.costUsd) })) },
        mark: { type: 'bar' },
        encoding: {
            x: { field: 'day', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'Day (UTC)', axis: { format: '%b %d', labelAngle: 0, tickCount: 12 } },
            y: { field: 'cost', type: 'quantitative', aggregate: 'sum', title: 'Spend (USD)', axis: { format: '$,.0f' } },
            color: { field: 'team', type: 'nominal', title: 'Team' },
            tooltip: [{ field: 'day', type: 'temporal' }, { field: 'team' }, { field: 'cost', format: '$,.2f' }],
        },
    };
}

/** Token mix per model (share of each bucket), the models with the most spend first. */
export function tokenMixSpec(data: WeeklyData): TopLevelSpec {
    const models = data.byModel.slice(0, 10);
    const buckets = [
        ['uncached input', 'uncachedInput'],
        ['cache read', 'cacheRead'],
        ['cache write', 'cacheWrite'],
        ['output', 'output'],
        ['reasoning', 'reasoning'],
    ] as const;
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 560,
        height: { step: 18 },
        data: {
            values: models.flatMap((m) => buckets.map(([label, key], order) => ({ model: m.model, bucket: label, order, tokens: Number(m.tokens[key]) }))),
        },
        mark: { type: 'bar' },
        encoding: {
            y: { field: 'model', type: 'nominal', sort: models.map((m) => m.model), title: null },
            x: { field: 'tokens', type: 'quantitative', stack: 'normalize', title: 'Share of tokens', axis: { format: '%' } },
            color: { field: 'bucket', type: 'nominal', title: 'Token bucket', sort: buckets.map(([l]) => l) },
            order: { field: 'order', type: 'quantitative' },
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

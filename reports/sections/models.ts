import { sql } from 'kysely';
import type { TopLevelSpec } from 'vega-lite';
import { allocateCents, formatCents, formatInt, formatUsd, formatUsdCents, fromUnits, toUnits } from '../format.js';
import { renderSvg } from '../render/chart.js';
import { withUnpriced } from './breakdown.js';
import { esc, figure } from './html.js';
import { chartLabel } from './text.js';
import type { ReportSection, SectionContext } from './section.js';

export interface ModelLine {
    readonly provider: string;
    readonly model: string;
    readonly requests: string;
    readonly unpriced: string;
    readonly costUsd: string;
    readonly tokens: {
        readonly uncachedInput: string;
        readonly cacheRead: string;
        readonly cacheWrite: string;
        readonly output: string;
        readonly reasoning: string;
    };
    readonly savingsUsd: string;
}

/** Spend, requests and the token mix per provider and model in the period. */
export async function loadModels(ctx: SectionContext): Promise<ModelLine[]> {
    const rows = await ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => {
            const sum = (c: Parameters<typeof eb.ref>[0]) => sql<string>`coalesce(sum(${eb.ref(c)}), 0)`;
            return [
                'provider',
                'model',
                sum('requests').as('requests'),
                sum('unpriced_requests').as('unpriced'),
                sum('cost_usd').as('cost_usd'),
                sum('uncached_input_tokens').as('uncached'),
                sum('cache_read_tokens').as('cache_read'),
                sum('cache_write_tokens').as('cache_write'),
                sum('output_excl_reasoning_tokens').as('output'),
                sum('reasoning_tokens').as('reasoning'),
                sql<string>`coalesce(sum(${eb.ref('cache_read_savings_usd')}) + sum(${eb.ref('cache_hit_savings_usd')}), 0)`.as('savings'),
            ];
        })
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .groupBy(['provider', 'model'])
        .orderBy((eb) => sql`sum(${eb.ref('cost_usd')})`, 'desc')
        .orderBy('provider')
        .orderBy('model')
        .execute();
    return rows.map((r) => ({
        provider: r.provider ?? '',
        model: r.model ?? '',
        requests: r.requests,
        unpriced: r.unpriced,
        costUsd: r.cost_usd,
        tokens: { uncachedInput: r.uncached, cacheRead: r.cache_read, cacheWrite: r.cache_write, output: r.output, reasoning: r.reasoning },
        savingsUsd: r.savings,
    }));
}

const BUCKETS = [
    ['uncached input', 'uncachedInput'],
    ['cache read', 'cacheRead'],
    ['cache write', 'cacheWrite'],
    ['output', 'output'],
    ['reasoning', 'reasoning'],
] as const;

/** Token mix per model (share of each bucket), the models with the most spend first. */
export function tokenMixSpec(lines: readonly ModelLine[]): TopLevelSpec {
    const models = lines.slice(0, 10);
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 560,
        height: { step: 18 },
        data: {
            values: models.flatMap((m) => BUCKETS.map(([label, key], order) => ({ model: m.model, bucket: label, order, tokens: Number(m.tokens[key]) }))),
        },
        mark: { type: 'bar' },
        encoding: {
            y: { field: 'model', type: 'nominal', sort: models.map((m) => chartLabel(m.model)), title: null },
            x: { field: 'tokens', type: 'quantitative', stack: 'normalize', title: 'Share of tokens', axis: { format: '%' } },
            color: { field: 'bucket', type: 'nominal', title: 'Token bucket', sort: BUCKETS.map(([l]) => l) },
            order: { field: 'order', type: 'quantitative' },
        },
    };
}

export const models: ReportSection = {
    id: 'models',

    async html(ctx) {
        const lines = await loadModels(ctx);
        const cents = allocateCents(lines.map((m) => m.costUsd));
        const mix = (m: ModelLine) => {
            const all = BUCKETS.map(([, key]) => Number(m.tokens[key]));
            const sum = all.reduce((a, b) => a + b, 0);
            return all.map((x) => `<td class="n">${sum ? `${((100 * x) / sum).toFixed(0)}%` : '—'}</td>`).join('');
        };
        const rows = lines
            .map(
                (m, i) =>
                    `<tr><td>${esc(m.provider)}<br><b>${esc(m.model)}</b></td><td class="n">${formatInt(m.requests)}</td><td class="n">${withUnpriced(formatCents(cents.parts[i]), m.unpriced)}</td>${mix(m)}<td class="n">${formatUsdCents(m.savingsUsd)}</td></tr>`,
            )
            .join('\n');
        const requests = lines.reduce((a, m) => a + BigInt(m.requests), 0n);
        const savings = fromUnits(lines.reduce((a, m) => a + toUnits(m.savingsUsd), 0n));
        const svg = lines.length ? await renderSvg(tokenMixSpec(lines)) : null;
        const html = `<h2>Spend by provider and model</h2>
<table class="compact"><thead><tr><th>Provider / model</th><th class="n">Requests</th><th class="n">Spend</th><th class="n">Uncached<br>input</th><th class="n">Cache<br>read</th><th class="n">Cache<br>write</th><th class="n">Output</th><th class="n">Reason-<br>ing</th><th class="n">Cache<br>savings</th></tr></thead>
<tbody>${rows || '<tr><td colspan="9" class="muted">No requests</td></tr>'}</tbody>
<tfoot><tr><td>Total</td><td class="n">${formatInt(requests)}</td><td class="n">${formatCents(cents.total)}</td><td colspan="5" class="muted">token mix: share of each model's tokens</td><td class="n">${formatUsd(savings)}</td></tr></tfoot></table>
<p class="muted" style="font-size:8pt">Cache savings = prompt-cache reads priced below uncached input, plus requests answered from the application's own cache (cost 0).</p>
${figure(svg, 'No tokens this week')}`;
        return { html, figures: { 'models.total': formatCents(cents.total) } };
    },
};

import { sql } from 'kysely';
import { formatInt, formatMs, formatPercent } from '../format.js';
import { esc } from './html.js';
import { callPercentile } from './queries.js';
import type { ReportSection, SectionContext } from './section.js';

/** Requests, error rate, p95 latency and thumbs-up rate per feature in the period. */
export async function loadFeatureHealth(ctx: SectionContext) {
    const { period } = ctx;
    const rows = await ctx.db
        .with('requests', (db) =>
            db
                .selectFrom('marts.fct_requests')
                .select((eb) => [
                    'feature',
                    eb.fn.countAll<string>().as('requests'),
                    sql<string>`avg(${eb.ref('is_error')}::int)`.as('error_rate'),
                    callPercentile(eb, 0.95, 'latency_ms').as('p95'),
                ])
                .where('usage_date', '>=', period.start)
                .where('usage_date', '<=', period.end)
                .groupBy('feature'),
        )
        .with('feedback', (db) =>
            db
                .selectFrom('marts.mart_daily_quality')
                .select((eb) => ['feature', eb.fn.sum<string>('thumbs_up').as('up'), eb.fn.sum<string>('feedback_count').as('n')])
                .where('usage_date', '>=', period.start)
                .where('usage_date', '<=', period.end)
                .groupBy('feature'),
        )
        .selectFrom('requests')
        .leftJoin('feedback', 'feedback.feature', 'requests.feature')
        .select(['requests.feature', 'requests.requests', 'requests.error_rate', 'requests.p95'])
        .select((eb) => [
            sql<string | null>`${eb.ref('feedback.up')}::numeric / nullif(${eb.ref('feedback.n')}, 0)`.as('thumbs_up_rate'),
            sql<string>`coalesce(${eb.ref('feedback.n')}, 0)`.as('feedback'),
        ])
        .orderBy('requests.requests', 'desc')
        .execute();
    return rows.map((r) => ({
        feature: r.feature ?? '',
        requests: r.requests,
        errorRate: Number(r.error_rate),
        p95LatencyMs: r.p95,
        thumbsUpRate: r.thumbs_up_rate === null ? null : Number(r.thumbs_up_rate),
        feedbackCount: r.feedback,
    }));
}

export const quality: ReportSection = {
    id: 'quality',

    async html(ctx) {
        const rows = (await loadFeatureHealth(ctx))
            .map(
                (h) =>
                    `<tr><td>${esc(h.feature)}</td><td class="n">${formatInt(h.requests)}</td><td class="n ${h.errorRate > 0.05 ? 'up' : ''}">${formatPercent(h.errorRate)}</td><td class="n">${formatMs(h.p95LatencyMs)}</td><td class="n">${h.thumbsUpRate === null ? '—' : `${formatPercent(h.thumbsUpRate)} <small>(n=${formatInt(h.feedbackCount)})</small>`}</td></tr>`,
            )
            .join('\n');
        return {
            html: `<div class="keep"><h2>Quality and reliability (context)</h2>
<table><thead><tr><th>Feature</th><th class="n">Requests</th><th class="n">Error rate</th><th class="n">p95 latency</th><th class="n">Thumbs-up rate</th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">No requests</td></tr>'}</tbody></table></div>`,
        };
    },
};

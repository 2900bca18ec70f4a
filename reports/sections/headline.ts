import { sql } from 'kysely';
import {
    allocateCents,
    formatCents,
    formatInt,
    formatMs,
    formatPercent,
    formatSignedPercent,
    formatSignedUsd,
    formatUsd,
    fromUnits,
    toUnits,
} from '../format.js';
import { esc } from './html.js';
import { mrkdwn } from './text.js';
import { callPercentile, sumWithin } from './queries.js';
import type { ReportSection, SectionContext } from './section.js';

/** Spend of the period and its baseline, month to date, requests, unpriced count, savings. */
export async function loadSpend(ctx: SectionContext) {
    const { period, baseline, team } = ctx;
    const monthStart = `${period.end.slice(0, 7)}-01`;
    const from = monthStart < baseline.start ? monthStart : baseline.start;
    const row = await ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => [
            sumWithin(eb, 'cost_usd', 'usage_date', period).as('spend'),
            sumWithin(eb, 'cost_usd', 'usage_date', baseline, baseline.divisor).as('baseline'),
            sumWithin(eb, 'cost_usd', 'usage_date', { start: monthStart, end: period.end }).as('month_to_date'),
            sumWithin(eb, 'requests', 'usage_date', period).as('requests'),
            sumWithin(eb, 'unpriced_requests', 'usage_date', period).as('unpriced'),
            sumWithin(eb, 'cache_hit_savings_usd', 'usage_date', period).as('hit_savings'),
            sumWithin(eb, 'cache_read_savings_usd', 'usage_date', period).as('read_savings'),
        ])
        .where('usage_date', '>=', from)
        .where('usage_date', '<=', period.end)
        .$if(team !== undefined, (qb) => qb.where('team', '=', team!))
        .executeTakeFirstOrThrow();
    return { ...row, monthStart };
}

/** Error rate, p95 latency and thumbs-up rate of the period (the digest's operations line). */
async function loadOps(ctx: SectionContext) {
    const { period, team } = ctx;
    const ops = await ctx.db
        .selectFrom('marts.fct_requests')
        .select((eb) => [sql<string | null>`avg(${eb.ref('is_error')}::int)`.as('error_rate'), callPercentile(eb, 0.95, 'latency_ms').as('p95')])
        .where('usage_date', '>=', period.start)
        .where('usage_date', '<=', period.end)
        .$if(team !== undefined, (qb) => qb.where('team', '=', team!))
        .executeTakeFirstOrThrow();
    const quality = await ctx.db
        .selectFrom('marts.mart_daily_quality as q')
        .select((eb) => sql<string | null>`sum(${eb.ref('q.thumbs_up')})::numeric / nullif(sum(${eb.ref('q.feedback_count')}), 0)`.as('rate'))
        .where('q.usage_date', '>=', period.start)
        .where('q.usage_date', '<=', period.end)
        .$if(team !== undefined, (qb) =>
            qb.where('q.feature', 'in', (eb) =>
                eb
                    .selectFrom('marts.fct_requests')
                    .select('feature')
                    .distinct()
                    .where('team', '=', team!)
                    .where('usage_date', '>=', period.start)
                    .where('usage_date', '<=', period.end),
            ),
        )
        .executeTakeFirstOrThrow();
    const num = (v: string | null) => (v === null ? null : Number(v));
    return { errorRate: num(ops.error_rate), p95LatencyMs: ops.p95, thumbsUpRate: num(quality.rate) };
}

const signedCents = (c: bigint) => (c > 0n ? `+${formatCents(c)}` : formatCents(c));

export const headline: ReportSection = {
    id: 'headline',

    async html(ctx) {
        const k = await loadSpend(ctx);
        const spendCents = allocateCents([k.spend]).total;
        const prevCents = allocateCents([k.baseline]).total;
        const change = spendCents - prevCents;
        const changePct = prevCents === 0n ? null : Number(change) / Number(prevCents);
        const requests = BigInt(k.requests);
        const per1k = requests === 0n ? null : fromUnits((toUnits(k.spend) * 1000n) / requests);
        const unpriced = BigInt(k.unpriced);
        const savings = formatUsd(fromUnits(toUnits(k.hit_savings) + toUnits(k.read_savings)));
        const banner =
            requests === 0n
                ? `<div class="banner">No usage data for week ${esc(ctx.period.label)}. The figures below are zero because nothing was loaded for these days, not because nothing was spent: check the data notes.</div>`
                : '';
        const card = (label: string, value: string, detail: string, cls = '', id = '') =>
            `<div class="kpi ${cls}"><div class="label">${label}</div><div class="value"${id ? ` id="${id}"` : ''}>${value}</div><div class="detail">${detail}</div></div>`;
        const html = `${banner}
<div class="kpis">
  ${card('Spend this week', formatCents(spendCents), `previous week ${formatCents(prevCents)}`, '', 'kpi-spend')}
  ${card('Change vs previous week', `<span class="${change > 0n ? 'up' : change < 0n ? 'down' : ''}">${signedCents(change)}</span>`, formatSignedPercent(changePct))}
  ${card('Month to date', formatUsd(k.month_to_date), `${esc(k.monthStart)} to ${esc(ctx.period.end)}`)}
  ${card('Requests', formatInt(k.requests), 'deduplicated model calls')}
  ${card('Cost per 1k requests', per1k === null ? '—' : formatUsd(per1k), `cache savings ${savings}`)}
  ${card('Unpriced requests', formatInt(k.unpriced), unpriced > 0n ? 'spend above excludes these: see data notes' : 'every request has a price', unpriced > 0n ? 'alert' : '')}
</div>`;
        return {
            html,
            figures: {
                spend: formatCents(spendCents),
                previousSpend: formatCents(prevCents),
                monthToDate: formatUsd(k.month_to_date),
                requests: formatInt(k.requests),
                unpricedRequests: formatInt(k.unpriced),
            },
        };
    },

    async digest(ctx) {
        const [k, ops] = await Promise.all([loadSpend(ctx), loadOps(ctx)]);
        const { period, baseline, team } = ctx;
        // The header block is plain_text (shown as is); the notification text is mrkdwn (escaped).
        const title = (who: string) => (period.kind === 'daily' ? `LLM spend ${period.label}${who}` : `LLM spend week ${period.label}${who}`);
        const header = title(team ? ` · ${team}` : '');
        const diff = fromUnits(toUnits(k.spend) - toUnits(k.baseline));
        const pct = Number(k.baseline) ? Number(diff) / Number(k.baseline) : null;
        const text = `${title(team ? ` · ${mrkdwn(team)}` : '')}: ${formatUsd(k.spend)} (${formatSignedPercent(pct)} vs ${baseline.label}), ${formatInt(k.requests)} requests`;
        return {
            text,
            blocks: [
                { type: 'header', text: { type: 'plain_text', text: header.slice(0, 150) } }, // Slack's limit for a header
                {
                    type: 'section',
                    fields: [
                        {
                            type: 'mrkdwn',
                            text: `*Spend*\n${formatUsd(k.spend)}  (${formatSignedUsd(diff)}, ${formatSignedPercent(pct)} vs ${baseline.label} ${formatUsd(k.baseline)})`,
                        },
                        { type: 'mrkdwn', text: `*Requests*\n${formatInt(k.requests)}` },
                        { type: 'mrkdwn', text: `*Error rate*\n${formatPercent(ops.errorRate)}` },
                        { type: 'mrkdwn', text: `*p95 latency*\n${formatMs(ops.p95LatencyMs)}` },
                        { type: 'mrkdwn', text: `*Thumbs-up rate*\n${formatPercent(ops.thumbsUpRate)}` },
                    ],
                },
            ],
        };
    },
};

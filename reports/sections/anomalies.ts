import { describeDriver } from '../alerts/find-alerts.js';
import { formatUsd } from '../format.js';
import { esc, fmtDate } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { mrkdwn } from './text.js';

/** Flagged days of the period (a per-team view: that team's series), largest score first. */
async function loadAnomalies(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_cost_anomalies')
        .selectAll()
        .where('is_flagged', '=', true)
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .$if(ctx.team !== undefined, (qb) => qb.where('team', '=', ctx.team!))
        .orderBy('usage_date')
        .orderBy('score', 'desc')
        .execute();
}

const seriesName = (a: { scope_type: string | null; series_key: string | null }) => `${a.scope_type === 'tenant' ? 'tenant ' : ''}${a.series_key ?? ''}`;

export const anomalies: ReportSection = {
    id: 'anomalies',

    async html(ctx) {
        const rows = await loadAnomalies(ctx);
        const body = rows.length
            ? `<table class="compact"><thead><tr><th>Day</th><th>Series</th><th class="n">Spend</th><th class="n">Expected</th><th class="n">Score</th><th>Driver</th></tr></thead><tbody>${rows
                  .map(
                      (a) =>
                          `<tr><td>${fmtDate(a.usage_date!)}</td><td>${esc(seriesName(a))}</td><td class="n">${formatUsd(a.spend_usd)}</td><td class="n">${formatUsd(a.expected_usd)}</td><td class="n">${a.score}</td><td>${esc(describeDriver(a, (s) => s))}</td></tr>`,
                  )
                  .join('')}</tbody></table>`
            : '<div class="nodata">No cost anomalies this week</div>';
        return {
            html: `<div class="keep"><h2>Cost anomalies</h2>\n<p class="muted">Days whose spend is at least twice (or at most half) the median of the same weekday over the 4 weeks before, with a robust score of 3.5 or more and $1 or more at stake (seeds/anomaly_settings.csv).</p>${body}</div>`,
            figures: { anomalies: String(rows.length) },
        };
    },

    async digest(ctx) {
        // The three with the most money at stake: a week's small flukes must not crowd out a runaway loop.
        const atStake = (a: { spend_usd: string | null; expected_usd: string | null }) => Math.abs(Number(a.spend_usd) - Number(a.expected_usd));
        const rows = (await loadAnomalies(ctx)).sort((a, b) => atStake(b) - atStake(a)).slice(0, 3);
        if (!rows.length) return { blocks: [] };
        const lines = rows
            .map(
                (a) =>
                    `• ${ctx.period.kind === 'daily' ? '' : `${a.usage_date} `}${mrkdwn(seriesName(a))}: ${formatUsd(a.spend_usd)} vs ${formatUsd(a.expected_usd)} expected; ${describeDriver(a)}`,
            )
            .join('\n');
        return { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Cost anomalies*\n${lines}` } }] };
    },
};

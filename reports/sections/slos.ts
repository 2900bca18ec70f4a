import { formatInt, formatPercent } from '../format.js';
import { esc } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { mrkdwn } from './text.js';

/** Each SLO as of the period's last day with data (marts.mart_slo_status); a per-team view is not filtered (SLOs are per feature). */
export async function loadSloStatus(ctx: SectionContext) {
    const day = await ctx.db
        .selectFrom('marts.mart_slo_status')
        .select((eb) => eb.fn.max('usage_date').as('day'))
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .executeTakeFirst();
    if (!day?.day) return [];
    return ctx.db.selectFrom('marts.mart_slo_status').selectAll().where('usage_date', '=', day.day).orderBy('feature').orderBy('objective').execute();
}

const burn = (v: string | null) => (v === null ? '—' : `${Number(v).toFixed(2)}×`);

export const slos: ReportSection = {
    id: 'slos',

    async html(ctx) {
        const rows = await loadSloStatus(ctx);
        const body = rows.length
            ? `<table class="compact"><thead><tr><th>Feature</th><th>Objective</th><th class="n">Target</th><th class="n">7 days</th><th class="n">Burn (7 d)</th><th class="n">Budget left (${rows[0].window_days} d)</th><th>Status</th></tr></thead><tbody>${rows
                  .map(
                      (r) =>
                          `<tr><td>${esc(r.feature)}</td><td>${esc(r.objective)}</td><td class="n">${formatPercent(Number(r.target))}</td><td class="n">${r.attainment_7d === null ? '—' : formatPercent(Number(r.attainment_7d))} <small>n=${formatInt(r.calls_7d ?? 0)}</small></td><td class="n">${burn(r.burn_rate_7d)}</td><td class="n">${r.error_budget_remaining === null ? '—' : formatPercent(Number(r.error_budget_remaining))}</td><td class="status-${esc(r.status)}">${esc(r.status)}</td></tr>`,
                  )
                  .join('')}</tbody></table>`
            : '<div class="nodata">No SLOs set for features with calls this week (models/seeds/slos.csv)</div>';
        return {
            html: `<div class="keep"><h2>SLOs and error budgets</h2>\n<p class="muted">Model calls only (application-cache hits left out). Burn rate 1× spends the error budget exactly over its window; burning = above 1× over 7 days.</p>${body}</div>`,
            figures: Object.fromEntries(rows.map((r) => [`${r.feature}:${r.objective}`, r.status ?? ''])),
        };
    },

    async digest(ctx) {
        if (ctx.team !== undefined) return { blocks: [] }; // SLOs are per feature: the all-teams digest carries them
        const rows = (await loadSloStatus(ctx)).filter((r) => r.status === 'burning' || r.status === 'exhausted');
        if (!rows.length) return { blocks: [] };
        const lines = rows
            .map(
                (r) =>
                    `• ${mrkdwn(r.feature ?? '')} ${r.objective}: burn ${burn(r.burn_rate_7d)} over 7 days, ${r.error_budget_remaining === null ? '—' : formatPercent(Number(r.error_budget_remaining))} of the ${r.window_days}-day budget left (*${r.status}*)`,
            )
            .join('\n');
        return { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*SLO burn*\n${lines}` } }] };
    },
};

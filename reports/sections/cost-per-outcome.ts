import { formatInt, formatUsd } from '../format.js';
import { esc } from './html.js';
import type { ReportSection, SectionContext } from './section.js';

/** A cost per unit: cents are too coarse for a cost per session. */
const perUnit = (v: string | null) => (v === null ? '—' : `$${Number(v).toFixed(4)}`);

/** The week's cost per outcome per feature with any resolved outcome or successful task, and the week before's (marts.mart_weekly_cost_per_outcome). */
async function loadCostPerOutcome(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_weekly_cost_per_outcome as this_week')
        .leftJoin('marts.mart_weekly_cost_per_outcome as last_week', (join) =>
            join.onRef('last_week.feature', '=', 'this_week.feature').on('last_week.week_start', '=', ctx.baseline.start),
        )
        .select([
            'this_week.feature',
            'this_week.cost_usd',
            'this_week.sessions',
            'this_week.resolved_outcomes',
            'this_week.cost_per_session_usd',
            'this_week.cost_per_resolved_usd',
            'this_week.cost_per_successful_task_usd',
            'last_week.cost_per_resolved_usd as last_cost_per_resolved_usd',
        ])
        .where('this_week.week_start', '=', ctx.period.start)
        .where((eb) => eb.or([eb('this_week.resolved_outcomes', '>', '0'), eb('this_week.successful_tasks', '>', '0')]))
        .orderBy('this_week.cost_usd', 'desc')
        .execute();
}

export const costPerOutcome: ReportSection = {
    id: 'cost-per-outcome',

    async html(ctx) {
        if (ctx.period.kind !== 'weekly') return { html: '' };
        const rows = await loadCostPerOutcome(ctx);
        const body = rows.length
            ? `<table class="compact"><thead><tr><th>Feature</th><th class="n">Spend</th><th class="n">Sessions</th><th class="n">Resolved</th><th class="n">Per session</th><th class="n">Per resolved outcome</th><th class="n">Last week</th><th class="n">Per successful task</th></tr></thead><tbody>${rows
                  .map(
                      (r) =>
                          `<tr><td>${esc(r.feature)}</td><td class="n">${formatUsd(r.cost_usd)}</td><td class="n">${formatInt(r.sessions ?? 0)}</td><td class="n">${formatInt(r.resolved_outcomes ?? 0)}</td><td class="n">${perUnit(r.cost_per_session_usd)}</td><td class="n">${perUnit(r.cost_per_resolved_usd)}</td><td class="n">${perUnit(r.last_cost_per_resolved_usd)}</td><td class="n">${perUnit(r.cost_per_successful_task_usd)}</td></tr>`,
                  )
                  .join('')}</tbody></table>`
            : '<div class="nodata">No resolved outcomes or successful agent tasks this week</div>';
        return {
            html: `<div class="keep"><h2>Cost per outcome</h2>\n<p class="muted">The week's spend of each feature (failed requests included) per session, per resolved outcome and per successful agent task: what a success costs, to set against what it is worth.</p>${body}</div>`,
            figures: Object.fromEntries(rows.map((r) => [`${r.feature}:cost_per_resolved`, perUnit(r.cost_per_resolved_usd)])),
        };
    },
};

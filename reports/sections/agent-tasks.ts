import { sql } from 'kysely';
import { formatInt, formatMs, formatPercent, formatUsd } from '../format.js';
import { esc } from './html.js';
import type { ReportSection, SectionContext } from './section.js';

/** The week's agent tasks per feature (marts.mart_agent_tasks): percentiles over the week's tasks, not averages of days. */
async function loadAgentTasks(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_agent_tasks')
        .select((eb) => [
            'feature',
            eb.fn.countAll<string>().as('tasks'),
            eb.fn.count<string>('task_id').filterWhere('is_successful', '=', true).as('successful'),
            eb.fn.count<string>('task_id').filterWhere('has_loop', '=', true).as('loops'),
            eb.fn.sum<string>('cost_usd').as('cost_usd'),
            sql<number>`percentile_cont(0.5) within group (order by ${eb.ref('steps')})`.as('steps_p50'),
            sql<number>`percentile_cont(0.95) within group (order by ${eb.ref('steps')})`.as('steps_p95'),
            sql<number>`percentile_cont(0.5) within group (order by ${eb.ref('duration_ms')})`.as('duration_p50_ms'),
        ])
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .$if(ctx.team !== undefined, (qb) => qb.where('team', '=', ctx.team ?? ''))
        .groupBy('feature')
        .orderBy('cost_usd', 'desc')
        .execute();
}

/** Cost per successful task: the failed tasks' cost is part of what a success costs. */
const perSuccess = (cost: string | null, successful: string) => (Number(successful) ? `$${(Number(cost) / Number(successful)).toFixed(4)}` : '—');

export const agentTasks: ReportSection = {
    id: 'agent-tasks',

    async html(ctx) {
        const rows = await loadAgentTasks(ctx);
        if (!rows.length) return { html: '' }; // no agents: nothing to say
        const body = `<table class="compact"><thead><tr><th>Feature</th><th class="n">Tasks</th><th class="n">Success</th><th class="n">Spend</th><th class="n">Per successful task</th><th class="n">Steps p50 / p95</th><th class="n">Duration p50</th><th class="n">Loops</th></tr></thead><tbody>${rows
            .map(
                (r) =>
                    `<tr><td>${esc(r.feature)}</td><td class="n">${formatInt(r.tasks)}</td><td class="n">${formatPercent(Number(r.successful) / Number(r.tasks))}</td><td class="n">${formatUsd(r.cost_usd)}</td><td class="n">${perSuccess(r.cost_usd, r.successful)}</td><td class="n">${Number(r.steps_p50).toFixed(1)} / ${Number(r.steps_p95).toFixed(1)}</td><td class="n">${formatMs(r.duration_p50_ms)}</td><td class="n">${formatInt(r.loops)}</td></tr>`,
            )
            .join('')}</tbody></table>`;
        return {
            html: `<div class="keep"><h2>Agent tasks</h2>\n<p class="muted">Steps are model calls plus tool calls. A loop: one tool called with the same arguments more than the configured number of times (models/seeds/quality_settings.csv).</p>${body}</div>`,
            figures: Object.fromEntries(rows.map((r) => [`${r.feature}:agent_success`, formatPercent(Number(r.successful) / Number(r.tasks))])),
        };
    },
};

import { formatSignedUsd, formatUsd, formatUsdCents, fromUnits, toUnits } from '../format.js';
import { esc } from './html.js';
import { mrkdwn } from './text.js';
import { sumWithin } from './queries.js';
import type { ReportSection, SectionContext } from './section.js';

export interface Mover {
    readonly team: string;
    readonly feature: string;
    readonly model: string;
    readonly now: string;
    /** The baseline period's spend (a daily average for a daily period). */
    readonly before: string;
    readonly change: string;
}

/** Spend per team x feature x model in the period and its baseline, with the change. */
export async function loadMovers(ctx: SectionContext): Promise<Mover[]> {
    const { period, baseline, team } = ctx;
    const rows = await ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => [
            'team',
            'feature',
            'model',
            sumWithin(eb, 'cost_usd', 'usage_date', period).as('now'),
            sumWithin(eb, 'cost_usd', 'usage_date', baseline, baseline.divisor).as('before'),
        ])
        .where('usage_date', '>=', baseline.start)
        .where('usage_date', '<=', period.end)
        .$if(team !== undefined, (qb) => qb.where('team', '=', team!))
        .groupBy(['team', 'feature', 'model'])
        .execute();
    return rows
        .map((r) => ({
            team: r.team ?? '',
            feature: r.feature ?? '',
            model: r.model ?? '',
            now: r.now,
            before: r.before,
            change: fromUnits(toUnits(r.now) - toUnits(r.before)),
        }))
        .sort((a, b) => Number(toUnits(b.change) - toUnits(a.change)) || `${a.team}${a.feature}${a.model}`.localeCompare(`${b.team}${b.feature}${b.model}`));
}

const moverTable = (title: string, list: readonly Mover[]) => {
    const rows = list.length
        ? list
              .map(
                  (m) =>
                      `<tr><td>${esc(m.team)}</td><td>${esc(m.feature)}</td><td>${esc(m.model)}</td><td class="n">${formatUsdCents(m.before)}</td><td class="n">${formatUsdCents(m.now)}</td><td class="n ${toUnits(m.change) > 0n ? 'up' : 'down'}">${formatSignedUsd(m.change)}</td></tr>`,
              )
              .join('\n')
        : '<tr><td colspan="6" class="muted">None</td></tr>';
    return `<div class="keep"><h3>${title}</h3><table><thead><tr><th>Team</th><th>Feature</th><th>Model</th><th class="n">Last week</th><th class="n">This week</th><th class="n">Change</th></tr></thead><tbody>${rows}</tbody></table></div>`;
};

export const movers: ReportSection = {
    id: 'movers',

    async html(ctx) {
        const all = await loadMovers(ctx);
        const up = all.filter((m) => toUnits(m.change) > 0n).slice(0, 5);
        const down = all
            .filter((m) => toUnits(m.change) < 0n)
            .reverse()
            .slice(0, 5);
        return { html: `<h2>Top movers (team × feature × model)</h2>\n${moverTable('Largest increases', up)}\n${moverTable('Largest decreases', down)}` };
    },

    async digest(ctx) {
        const abs = (m: Mover) => (toUnits(m.change) < 0n ? -toUnits(m.change) : toUnits(m.change));
        const top = (await loadMovers(ctx))
            .sort((a, b) => Number(abs(b) - abs(a)) || `${a.team}${a.feature}${a.model}`.localeCompare(`${b.team}${b.feature}${b.model}`))
            .slice(0, 3);
        const lines = top.length
            ? top
                  .map((m) => `• ${mrkdwn(m.team)} · ${mrkdwn(m.feature)} · ${mrkdwn(m.model)}: ${formatSignedUsd(m.change)} (now ${formatUsd(m.now)})`)
                  .join('\n')
            : '• none';
        return { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Top movers vs ${ctx.baseline.label}*\n${lines}` } }] };
    },
};

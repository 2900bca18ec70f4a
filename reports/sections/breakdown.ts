import { allocateCents, formatCents, formatInt, formatPercent, formatSignedPercent } from '../format.js';
import { esc } from './html.js';
import { sumWithin } from './queries.js';
import type { HtmlPart, ReportSection, SectionContext } from './section.js';

/** A spend breakdown table: this week, last week, change and share per key (team, feature, ...). */
export interface BreakdownSpec {
    readonly id: string;
    readonly title: string;
    readonly key: 'team' | 'feature' | 'cost_center' | 'tenant';
    readonly label: 'team' | 'feature' | 'cost_center' | 'tenant';
}

const HEADERS: Readonly<Record<BreakdownSpec['key'], string>> = { team: 'Team', feature: 'Feature', cost_center: 'Cost center', tenant: 'Tenant' };

export async function loadBreakdown(ctx: SectionContext, spec: BreakdownSpec) {
    const { period, baseline } = ctx;
    const rows = await ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => [
            eb.ref(spec.key).as('key'),
            eb.ref(spec.label).as('label'),
            sumWithin(eb, 'cost_usd', 'usage_date', period).as('this_period'),
            sumWithin(eb, 'cost_usd', 'usage_date', baseline).as('baseline'),
            sumWithin(eb, 'unpriced_requests', 'usage_date', period).as('unpriced'),
        ])
        .where('usage_date', '>=', baseline.start)
        .where('usage_date', '<=', period.end)
        .groupBy([spec.key, spec.label])
        .orderBy((eb) => sumWithin(eb, 'cost_usd', 'usage_date', period), 'desc')
        .orderBy(spec.key)
        .execute();
    return rows.map((r) => ({ key: r.key ?? '', label: r.label ?? '', thisPeriod: r.this_period, baseline: r.baseline, unpriced: r.unpriced }));
}

const signedCents = (c: bigint) => (c > 0n ? `+${formatCents(c)}` : formatCents(c));

/** An amount with, when some requests had no price, how many (so $0.00 never hides them). */
export function withUnpriced(amount: string, unpriced: string): string {
    return BigInt(unpriced) > 0n ? `${amount} <small class="up">+${formatInt(unpriced)} unpriced</small>` : amount;
}

export function breakdownSection(spec: BreakdownSpec): ReportSection {
    return {
        id: spec.id,
        async html(ctx): Promise<HtmlPart> {
            const rows = await loadBreakdown(ctx, spec);
            // Cents by largest remainder: the rows as shown add up to the total as shown.
            const now = allocateCents(rows.map((r) => r.thisPeriod));
            const before = allocateCents(rows.map((r) => r.baseline));
            const body = rows
                .map((r, i) => {
                    const change = now.parts[i] - before.parts[i];
                    const share = now.total === 0n ? null : Number(now.parts[i]) / Number(now.total);
                    const pct = before.parts[i] === 0n ? null : Number(change) / Number(before.parts[i]);
                    return (
                        `<tr><td>${esc(r.key)}</td><td>${esc(r.label)}</td><td class="n">${withUnpriced(formatCents(now.parts[i]), r.unpriced)}</td><td class="n">${formatCents(before.parts[i])}</td>` +
                        `<td class="n ${change > 0n ? 'up' : change < 0n ? 'down' : ''}">${signedCents(change)} <small>${formatSignedPercent(pct)}</small></td><td class="n">${formatPercent(share)}</td></tr>`
                    );
                })
                .join('\n');
            const html = `<h2>${esc(spec.title)}</h2>
<table><thead><tr><th>${HEADERS[spec.key]}</th><th>${HEADERS[spec.label]}</th><th class="n">This week</th><th class="n">Last week</th><th class="n">Change</th><th class="n">Share</th></tr></thead>
<tbody>${body}</tbody>
<tfoot><tr><td>Total</td><td></td><td class="n">${formatCents(now.total)}</td><td class="n">${formatCents(before.total)}</td><td class="n">${signedCents(now.total - before.total)}</td><td class="n">${now.total === 0n ? '—' : '100.0%'}</td></tr></tfoot></table>`;
            return { html, figures: { [`${spec.id}.rows`]: String(rows.length), [`${spec.id}.total`]: formatCents(now.total) } };
        },
    };
}

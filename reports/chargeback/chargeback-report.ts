import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Browser } from 'puppeteer';
import type { DB } from '../../pipelines/db/database.js';
import { UserError } from '../../pipelines/util/errors.js';
import { writeOutput } from '../../pipelines/util/output-file.js';
import { formatCents, toUnits } from '../format.js';
import { htmlToPdf } from '../render/browser.js';
import { effectsInCents, toCents } from '../sections/cost-change.js';
import { loadReconciliation, reconciliationHtml } from '../sections/data-notes.js';
import { esc, timeLabel } from '../sections/html.js';
import { requireMarts } from '../sections/section.js';
import { STYLE } from '../weekly/weekly-report.js';

export interface ChargebackReport {
    readonly csvPath: string;
    readonly htmlPath: string;
    readonly pdfPath: string | undefined;
    /** Cost center -> total in cents, and the month's total. */
    readonly totals: Readonly<Record<string, bigint>>;
    readonly totalCents: bigint;
}

interface Line {
    readonly costCenter: string;
    readonly team: string;
    readonly tenant: string;
    readonly direct: bigint;
    readonly byRule: Readonly<Record<string, bigint>>;
    readonly total: bigint;
}

/** Amounts of the statement are cents already (numeric(16, 2)): exact as bigint. */
const cents = (v: string | number | null | undefined) => toUnits(String(v ?? '0')) / 10_000_000_000n;

async function loadStatement(db: Kysely<DB>, month: string): Promise<Line[]> {
    const rows = await db
        .selectFrom('marts.mart_monthly_chargeback')
        .select(['cost_center', 'team', 'tenant', 'direct_usd', 'allocated_by_rule', 'total_usd'])
        .where('month', '=', month)
        .orderBy('cost_center')
        .orderBy('team')
        .orderBy('tenant')
        .execute();
    return rows.map((r) => ({
        costCenter: r.cost_center ?? '',
        team: r.team ?? '',
        tenant: r.tenant ?? '',
        direct: cents(r.direct_usd),
        byRule: Object.fromEntries(Object.entries((r.allocated_by_rule ?? {}) as Record<string, number>).map(([k, v]) => [k, cents(v)])),
        total: cents(r.total_usd),
    }));
}

/** The month's change in spend since the month before, per team, by effect (marts.mart_cost_change). */
async function loadChange(db: Kysely<DB>, month: string) {
    return db
        .selectFrom('marts.mart_cost_change')
        .select((eb) => [
            'team',
            eb.fn.sum<string>('previous_cost_usd').as('previous'),
            eb.fn.sum<string>('cost_usd').as('current'),
            eb.fn.sum<string>('volume_usd').as('volume'),
            eb.fn.sum<string>('mix_usd').as('mix'),
            eb.fn.sum<string>('intensity_usd').as('intensity'),
            eb.fn.sum<string>('price_usd').as('price'),
        ])
        .where('period_type', '=', 'month')
        .where('period_start', '=', `${month}-01`)
        .groupBy('team')
        .orderBy('team')
        .execute();
}

function changeHtml(rows: Awaited<ReturnType<typeof loadChange>>): string {
    if (!rows.length) return '<p class="note">No month before this one to compare with.</p>';
    return `<h2>Why spend changed since the month before</h2><p class="note">Each team's own spend (before allocation), its change split into volume, model mix, tokens per request and price per token: a sequential decomposition whose parts add up to the change (README, "Why spend changed").</p><table class="compact"><thead><tr><th>Team</th><th class="n">Month before</th><th class="n">This month</th><th class="n">Volume</th><th class="n">Model mix</th><th class="n">Tokens per request</th><th class="n">Price per token</th></tr></thead><tbody>${rows
        .map(
            (r) =>
                `<tr><td>${esc(r.team)}</td>${[r.previous, r.current].map((v) => `<td class="n">${formatCents(toCents(v))}</td>`).join('')}${effectsInCents(
                    r.previous,
                    r.current,
                    [r.volume, r.mix, r.intensity, r.price],
                )
                    .map((x) => `<td class="n">${formatCents(x)}</td>`)
                    .join('')}</tr>`,
        )
        .join('')}</tbody></table>`;
}

async function loadRules(db: Kysely<DB>) {
    return db
        .selectFrom('staging.stg_allocation_rules')
        .select(['rule_id', 'pool_type', 'pool_value', 'method', 'receiver_type', 'receiver_value', 'fixed_share', 'description'])
        .orderBy('priority')
        .orderBy('rule_id')
        .orderBy('receiver_value')
        .execute();
}

const METHOD: Readonly<Record<string, string>> = {
    proportional_spend: 'in proportion to their direct spend',
    proportional_requests: 'in proportion to their requests',
    fixed: 'by fixed shares',
};

function methodText(rules: Awaited<ReturnType<typeof loadRules>>): string {
    const byRule = new Map<string, typeof rules>();
    for (const r of rules) byRule.set(r.rule_id ?? '', [...(byRule.get(r.rule_id ?? '') ?? []), r]);
    const items = [...byRule.entries()].map(([id, rs]) => {
        const r = rs[0];
        const receivers =
            r.method === 'fixed'
                ? rs.map((x) => `${esc(x.receiver_value ?? '')} ${(Number(x.fixed_share) * 100).toFixed(1)}%`).join(', ')
                : `the ${esc(String(r.receiver_type).replace('_', ' '))}s ${METHOD[r.method ?? ''] ?? esc(r.method ?? '')}`;
        return `<li><b>${esc(id)}</b>: the spend of ${esc(r.pool_type ?? '')} <code>${esc(r.pool_value ?? '')}</code>${r.description ? ` (${esc(r.description)})` : ''}, charged to ${receivers}.</li>`;
    });
    return `<h2>Method</h2><p>Direct spend is what each team's own requests cost (tokens × the price in force). Shared spend is the spend of the pools below, charged by rule (models/seeds/allocation_rules.csv); a request is in the first pool that matches it. Amounts are cents that add up: the month is rounded once, then split over the direct spend and the pools, each pool over its receivers and the direct spend over the teams, by largest remainder.</p><ul>${items.join('') || '<li>No allocation rules: every line is direct spend.</li>'}</ul>`;
}

/** One CSV field, quoted when it must be (RFC 4180). */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const dollars = (c: bigint) => `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${((c < 0n ? -c : c) % 100n).toString().padStart(2, '0')}`;

/**
 * The month's chargeback: a CSV for the ledger (cost center, amount, memo) and a statement, one
 * page per cost center after a summary and the method. Every figure is read from
 * marts.mart_monthly_chargeback, whose cents add up.
 */
export async function writeChargebackReport(
    db: Kysely<DB>,
    month: string,
    outDir: string,
    browser: Browser | undefined,
    now = new Date(),
): Promise<ChargebackReport> {
    await requireMarts(db, 'report chargeback', ['marts.mart_monthly_chargeback', 'staging.stg_allocation_rules']);
    const lines = await loadStatement(db, month);
    if (!lines.length) {
        const months = await db.selectFrom('marts.mart_monthly_chargeback').select('month').distinct().orderBy('month').execute();
        throw new UserError(
            `report chargeback: no chargeback for ${month} in marts.mart_monthly_chargeback (months with data: ${months.map((m) => m.month).join(', ') || 'none'}); load that month's logs and run tokenmart build`,
        );
    }
    const rules = await loadRules(db);
    const reconciliation = await loadReconciliation(db, month);
    const change = await loadChange(db, month);
    const ruleIds = [...new Set(lines.flatMap((l) => Object.keys(l.byRule)))].sort();
    const centers = [...new Set(lines.map((l) => l.costCenter))];
    const sum = (ls: readonly Line[], f: (l: Line) => bigint) => ls.reduce((a, l) => a + f(l), 0n);
    const totals = Object.fromEntries(
        centers.map((c) => [
            c,
            sum(
                lines.filter((l) => l.costCenter === c),
                (l) => l.total,
            ),
        ]),
    );
    const totalCents = sum(lines, (l) => l.total);

    const csv = [
        'cost_center,amount,memo',
        ...centers.map((c) => {
            const ls = lines.filter((l) => l.costCenter === c);
            const shared = ruleIds
                .map((r) => [r, sum(ls, (l) => l.byRule[r] ?? 0n)] as const)
                .filter(([, v]) => v !== 0n)
                .map(([r, v]) => `${r} ${dollars(v)}`);
            const memo = `LLM spend ${month}: direct ${dollars(sum(ls, (l) => l.direct))}${shared.length ? `; shared ${shared.join(', ')}` : ''}`;
            return [c, dollars(totals[c]), memo].map(csvField).join(',');
        }),
    ].join('\r\n');

    const ruleHeads = ruleIds.map((r) => `<th class="n">${esc(r)}</th>`).join('');
    const lineRow = (l: Line) =>
        `<tr><td>${esc(l.team)}</td><td>${esc(l.tenant)}</td><td class="n">${formatCents(l.direct)}</td>${ruleIds.map((r) => `<td class="n">${l.byRule[r] === undefined ? '' : formatCents(l.byRule[r])}</td>`).join('')}<td class="n">${formatCents(l.total)}</td></tr>`;
    const footRow = (label: string, ls: readonly Line[]) =>
        `<tfoot><tr><td colspan="2">${esc(label)}</td><td class="n">${formatCents(sum(ls, (l) => l.direct))}</td>${ruleIds.map((r) => `<td class="n">${formatCents(sum(ls, (l) => l.byRule[r] ?? 0n))}</td>`).join('')}<td class="n">${formatCents(sum(ls, (l) => l.total))}</td></tr></tfoot>`;
    const pages = centers.map((c) => {
        const ls = lines.filter((l) => l.costCenter === c);
        return `<section class="page-break"><h2>Cost center ${esc(c)}</h2><table><thead><tr><th>Team</th><th>Tenant</th><th class="n">Direct</th>${ruleHeads}<th class="n">Total</th></tr></thead><tbody>${ls.map(lineRow).join('')}</tbody>${footRow(`Total ${c}`, ls)}</table></section>`;
    });
    const summary = `<table><thead><tr><th>Cost center</th><th class="n">Direct</th><th class="n">Shared</th><th class="n">Total</th></tr></thead><tbody>${centers
        .map((c) => {
            const ls = lines.filter((l) => l.costCenter === c);
            const direct = sum(ls, (l) => l.direct);
            return `<tr><td>${esc(c)}</td><td class="n">${formatCents(direct)}</td><td class="n">${formatCents(totals[c] - direct)}</td><td class="n">${formatCents(totals[c])}</td></tr>`;
        })
        .join(
            '',
        )}</tbody><tfoot><tr><td>Total</td><td class="n">${formatCents(sum(lines, (l) => l.direct))}</td><td class="n">${formatCents(totalCents - sum(lines, (l) => l.direct))}</td><td class="n">${formatCents(totalCents)}</td></tr></tfoot></table>`;
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>LLM spend chargeback, ${esc(month)}</title>
<style>
${STYLE}
</style></head><body>
<h1>LLM spend chargeback, ${esc(month)}</h1>
<div class="sub">Statement by cost center · generated ${esc(timeLabel(now))}</div>
${summary}
<p class="note"><b>Against the invoices:</b> ${reconciliationHtml(reconciliation)}</p>
${methodText(rules)}
${changeHtml(change)}
${pages.join('\n')}
</body></html>
`;
    const base = join(outDir, `chargeback-${month}`);
    writeOutput(`${base}.csv`, `${csv}\r\n`);
    writeOutput(`${base}.html`, html);
    let pdfPath: string | undefined;
    if (browser) {
        pdfPath = `${base}.pdf`;
        writeOutput(
            pdfPath,
            await htmlToPdf(browser, html, { headerLeft: `tokenmart · LLM spend chargeback · ${month}`, headerRight: `generated ${timeLabel(now)}` }),
        );
    }
    return { csvPath: `${base}.csv`, htmlPath: `${base}.html`, pdfPath, totals, totalCents };
}

import type { Kysely } from 'kysely';
import type { DB } from '../../pipelines/db/database.js';
import { formatInt, formatUsd } from '../format.js';
import { addDays } from '../period.js';
import { esc, timeLabel } from './html.js';
import { mrkdwn } from './text.js';
import type { ReportSection, SectionContext } from './section.js';

/** When the newest request in the marts started: what "data as of" means everywhere. */
export async function loadDataAsOf(db: Kysely<DB>): Promise<Date | null> {
    const row = await db
        .selectFrom('marts.fct_requests')
        .select((eb) => eb.fn.max('event_at').as('at'))
        .executeTakeFirst();
    return row?.at ?? null;
}

/** The latest data-test run: counts and what did not pass. */
export async function loadTestRun(db: Kysely<DB>) {
    const latest = await db
        .selectFrom('ops.test_results')
        .select((eb) => ['run_id', eb.fn.max('tested_at').as('at')])
        .groupBy('run_id')
        .orderBy('at', 'desc')
        .limit(1)
        .executeTakeFirst();
    const tests = latest
        ? await db.selectFrom('ops.test_results').select(['status', 'test_name', 'severity']).where('run_id', '=', latest.run_id).execute()
        : [];
    return {
        runId: latest?.run_id ?? null,
        at: latest?.at ?? null,
        passed: tests.filter((t) => t.status === 'pass').length,
        warned: tests.filter((t) => t.status === 'warn').length,
        failed: tests.filter((t) => t.status === 'fail' || t.status === 'error').length,
        notPassing: tests.filter((t) => t.status !== 'pass').map((t) => `${t.test_name} (${t.status})`),
        failing: tests
            .filter((t) => t.status === 'fail' || t.status === 'error')
            .map((t) => `${t.test_name} (${t.status})`)
            .sort(),
    };
}

/** Models without a price in the period, and how many requests that left unpriced. */
async function loadUnpriced(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => ['provider', 'model', eb.fn.sum<string>('unpriced_requests').as('requests')])
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .where('unpriced_requests', '>', '0')
        .$if(ctx.team !== undefined, (qb) => qb.where('team', '=', ctx.team!))
        .groupBy(['provider', 'model'])
        .orderBy((eb) => eb.fn.sum('unpriced_requests'), 'desc')
        .execute();
}

async function loadDaysWithData(ctx: SectionContext): Promise<string[]> {
    const rows = await ctx.db
        .selectFrom('marts.mart_daily_cost')
        .select('usage_date')
        .distinct()
        .where('usage_date', '>=', ctx.period.start)
        .where('usage_date', '<=', ctx.period.end)
        .orderBy('usage_date')
        .execute();
    return rows.map((r) => r.usage_date!);
}

/** Each provider's invoice reconciliation for a month (default: the latest month reconciled), marts.mart_invoice_reconciliation. */
export async function loadReconciliation(db: Kysely<DB>, month?: string) {
    const latest = month
        ? { m: month }
        : await db
              .selectFrom('marts.mart_invoice_reconciliation')
              .select((eb) => eb.fn.max('month').as('m'))
              .where('grain', '=', 'month')
              .executeTakeFirst();
    if (!latest?.m) return [];
    return db
        .selectFrom('marts.mart_invoice_reconciliation')
        .select(['provider', 'month', 'invoiced_usd', 'computed_usd', 'difference_pct', 'status', 'likely_causes', 'reconciliation_tolerance_pct'])
        .where('grain', '=', 'month')
        .where('month', '=', latest.m)
        .orderBy('provider')
        .execute();
}

/** One sentence per provider: invoiced against computed, and why they differ. */
export function reconciliationHtml(rows: Awaited<ReturnType<typeof loadReconciliation>>): string {
    if (!rows.length) return 'no provider cost export imported (<code>tokenmart invoices import</code>).';
    return `${esc(rows[0].month)}: ${rows
        .map((r) => {
            const pct = r.difference_pct === null ? '' : ` (${Number(r.difference_pct) > 0 ? '+' : ''}${Number(r.difference_pct).toFixed(2)}%)`;
            const status =
                r.status === 'ok'
                    ? `ok within ${Number(r.reconciliation_tolerance_pct)}%`
                    : `<span class="up">${esc(String(r.status).replace('_', ' '))}</span>`;
            const causes = r.status === 'ok' ? '' : (r.likely_causes ?? []).length ? `; likely: ${(r.likely_causes ?? []).map(esc).join('; ')}` : '';
            return `${esc(r.provider)} invoiced ${formatUsd(r.invoiced_usd)}, computed ${formatUsd(r.computed_usd)}${pct}, ${status}${causes}`;
        })
        .join('. ')}.`;
}

export const dataNotes: ReportSection = {
    id: 'data-notes',

    async html(ctx) {
        const [asOf, days, tests, unpriced, invoices] = await Promise.all([
            loadDataAsOf(ctx.db),
            loadDaysWithData(ctx),
            loadTestRun(ctx.db),
            loadUnpriced(ctx),
            loadReconciliation(ctx.db),
        ]);
        const length = Math.round((Date.parse(ctx.period.end) - Date.parse(ctx.period.start)) / 86_400_000) + 1;
        const missing = Array.from({ length }, (_, i) => addDays(ctx.period.start, i)).filter((d) => !days.includes(d));
        const unpricedTotal = unpriced.reduce((a, r) => a + BigInt(r.requests), 0n);
        const testLine = tests.runId
            ? `${tests.passed} passed, ${tests.warned} warned, ${tests.failed} failed (run ${esc(tests.runId.slice(0, 8))}, ${esc(timeLabel(tests.at))})${tests.notPassing.length ? `: ${tests.notPassing.map(esc).join(', ')}` : ''}`
            : 'no data-test run recorded';
        const html = `<div class="keep"><h2>Data notes</h2>
<ul class="notes">
  <li><b>Freshness:</b> latest event ${esc(timeLabel(asOf))}.</li>
  <li><b>Coverage:</b> ${days.length} of ${length} days have data${missing.length ? `; <span class="up">no data for ${missing.map(esc).join(', ')}</span> (figures for those days are missing, not zero)` : ''}.</li>
  <li><b>Data tests of the build:</b> ${testLine}.</li>
  <li><b>Unpriced:</b> ${
      unpricedTotal > 0n
          ? `<span class="up">${formatInt(unpricedTotal)} requests have no price in force and are not in the spend figures</span>: ${unpriced.map((m) => `${esc(m.provider)}/${esc(m.model)} (${formatInt(m.requests)})`).join(', ')}. Add them to models/seeds/model_prices.csv and rebuild to re-price.`
          : 'none.'
  }</li>
  <li><b>Invoices:</b> ${reconciliationHtml(invoices)}</li>
  <li><b>Method:</b> spend is computed from token counts × the price in force at each request's timestamp (numeric, not float); duplicates are counted once; amounts are rounded to cents only for display, with parts rounded so they add up to their totals.</li>
</ul></div>`;
        return { html };
    },

    /** Loud only about what needs attention: unpriced requests and failing data tests. */
    async digest(ctx) {
        const [tests, unpriced] = await Promise.all([loadTestRun(ctx.db), loadUnpriced(ctx)]);
        const unpricedTotal = unpriced.reduce((a, r) => a + BigInt(r.requests), 0n);
        const attention = [
            ...(unpricedTotal > 0n
                ? [`:warning: *${formatInt(unpricedTotal)} unpriced requests* are not in the spend figure (add their prices and rebuild)`]
                : []),
            ...tests.failing.map((t) => `:x: data test failing: \`${mrkdwn(t)}\``),
        ];
        return { blocks: attention.length ? [{ type: 'section', text: { type: 'mrkdwn', text: attention.join('\n') } }] : [] };
    },
};

import type { TopLevelSpec } from 'vega-lite';
import { formatInt, formatUsd } from '../format.js';
import { renderSvg } from '../render/chart.js';
import { esc, figure, fmtDate } from './html.js';
import type { ReportSection, SectionContext } from './section.js';
import { chartLabel, mrkdwn } from './text.js';

const STATUS_LABEL: Readonly<Record<string, string>> = { hard: 'over (hard)', soft: 'soft threshold', projected_over: 'projected over', ok: 'ok' };

/** The day budgets are read as of: the period's last day with data. */
async function asOfDay(ctx: SectionContext): Promise<string | undefined> {
    const row = await ctx.db
        .selectFrom('marts.mart_spend_forecast')
        .select((eb) => eb.fn.max('as_of_date').as('day'))
        .where('as_of_date', '<=', ctx.period.end)
        .where('as_of_date', '>=', ctx.period.start)
        .executeTakeFirst();
    return row?.day ?? undefined;
}

/** Budget rows as of a day; a per-team view keeps that team's budgets. */
export async function loadBudgets(ctx: SectionContext, day: string) {
    return ctx.db
        .selectFrom('marts.mart_budget_status')
        .selectAll()
        .where('as_of_date', '=', day)
        .$if(ctx.team !== undefined, (qb) => qb.where('scope_type', '=', 'team').where('scope_value', '=', ctx.team!))
        .orderBy('scope_type')
        .orderBy('scope_value')
        .execute();
}
type Budget = Awaited<ReturnType<typeof loadBudgets>>[number];

const budgetName = (b: Budget) => (b.scope_type === 'all' ? 'All spend' : `${b.scope_type?.replace('_', ' ')} ${b.scope_value}`);
const pctOf = (value: string | null, b: Budget) => (value === null ? null : (100 * Number(value)) / Number(b.amount_usd));

/** Bullet chart in % of each budget: spend so far (bar), forecast (tick) with its 80% and 95% intervals, thresholds. */
export function budgetBulletSpec(budgets: readonly Budget[]): TopLevelSpec {
    const values = budgets.map((b) => ({
        budget: chartLabel(budgetName(b)),
        actual: pctOf(b.mtd_spend_usd, b),
        forecast: pctOf(b.forecast_usd, b),
        low80: pctOf(b.forecast_low_80_usd, b),
        high80: pctOf(b.forecast_high_80_usd, b),
        low95: pctOf(b.forecast_low_95_usd, b),
        high95: pctOf(b.forecast_high_95_usd, b),
        soft: Number(b.soft_pct),
        hard: Number(b.hard_pct),
        zero: 0,
    }));
    const y = { field: 'budget', type: 'nominal' as const, title: null, sort: null };
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 560,
        height: { step: 17 },
        data: { values },
        encoding: { y },
        layer: [
            { mark: { type: 'bar', color: '#e6e9ed', size: 12 }, encoding: { x: { field: 'zero', type: 'quantitative' }, x2: { field: 'hard' } } },
            { mark: { type: 'rule', color: '#b8c2cc', strokeWidth: 1.5 }, encoding: { x: { field: 'low95', type: 'quantitative' }, x2: { field: 'high95' } } },
            { mark: { type: 'rule', color: '#7b8794', strokeWidth: 4 }, encoding: { x: { field: 'low80', type: 'quantitative' }, x2: { field: 'high80' } } },
            {
                mark: { type: 'bar', color: '#2f6fb2', size: 6 },
                encoding: { x: { field: 'actual', type: 'quantitative', title: '% of the month’s budget', scale: { zero: true } } },
            },
            { mark: { type: 'tick', color: '#e07b39', thickness: 3, size: 15 }, encoding: { x: { field: 'forecast', type: 'quantitative' } } },
            { mark: { type: 'tick', color: '#c0504d', thickness: 1.5, size: 16 }, encoding: { x: { field: 'hard', type: 'quantitative' } } },
            { mark: { type: 'tick', color: '#d1a72b', thickness: 1.5, size: 16 }, encoding: { x: { field: 'soft', type: 'quantitative' } } },
        ],
    };
}

/** The month so far (cumulative), then the forecast's central line and interval band to month end, and the budget. */
export function forecastLineSpec(
    days: readonly { readonly day: string; readonly cumulative: number }[],
    f: {
        readonly asOf: string;
        readonly monthEnd: string;
        readonly mtd: number;
        readonly forecast: number;
        readonly low80: number | null;
        readonly high80: number | null;
        readonly low95: number | null;
        readonly high95: number | null;
    },
    budget: number | undefined,
): TopLevelSpec {
    const band = [
        { day: f.asOf, low80: f.mtd, high80: f.mtd, low95: f.mtd, high95: f.mtd, forecast: f.mtd },
        {
            day: f.monthEnd,
            low80: f.low80 ?? f.forecast,
            high80: f.high80 ?? f.forecast,
            low95: f.low95 ?? f.forecast,
            high95: f.high95 ?? f.forecast,
            forecast: f.forecast,
        },
    ];
    const x = { field: 'day', type: 'temporal' as const, timeUnit: 'utcyearmonthdate' as const, title: 'Day (UTC)', axis: { format: '%b %d', labelAngle: 0 } };
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 560,
        height: 105,
        layer: [
            {
                data: { values: band },
                mark: { type: 'area', color: '#e07b39', opacity: 0.12 },
                encoding: { x, y: { field: 'low95', type: 'quantitative' }, y2: { field: 'high95' } },
            },
            {
                data: { values: band },
                mark: { type: 'area', color: '#e07b39', opacity: 0.25 },
                encoding: { x, y: { field: 'low80', type: 'quantitative' }, y2: { field: 'high80' } },
            },
            {
                data: { values: band },
                mark: { type: 'line', color: '#e07b39', strokeDash: [5, 3] },
                encoding: { x, y: { field: 'forecast', type: 'quantitative' } },
            },
            {
                data: { values: days },
                mark: { type: 'line', color: '#2f6fb2', point: { size: 12 } },
                encoding: { x, y: { field: 'cumulative', type: 'quantitative', title: 'Spend this month (USD)', axis: { format: '$,.0f' } } },
            },
            ...(budget === undefined
                ? []
                : [
                      {
                          data: { values: [{ budget }] },
                          mark: { type: 'rule' as const, color: '#c0504d', strokeDash: [2, 2] },
                          encoding: { y: { field: 'budget', type: 'quantitative' as const } },
                      },
                  ]),
        ],
    };
}

/** What the backtest of all spend measured: the figures printed beside the forecast. */
async function loadBacktest(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_forecast_backtest')
        .select((eb) => [
            eb.fn.countAll<string>().as('n'),
            eb.fn.count<string>('forecast_month').distinct().as('months'),
            eb.fn.avg<string>(eb.cast('is_in_80', 'integer')).as('in80'),
            eb.fn.avg<string>(eb.cast('is_in_95', 'integer')).as('in95'),
            eb.fn.avg<string>('abs_pct_error').as('mape'),
        ])
        .where('scope_type', '=', 'all')
        .where('is_low_confidence', '=', false)
        .executeTakeFirstOrThrow();
}

async function loadMonth(ctx: SectionContext, day: string) {
    const forecast = await ctx.db
        .selectFrom('marts.mart_spend_forecast')
        .selectAll()
        .where('scope_type', '=', 'all')
        .where('as_of_date', '=', day)
        .executeTakeFirst();
    if (!forecast) return undefined;
    const days = await ctx.db
        .selectFrom('marts.mart_spend_forecast')
        .select(['as_of_date', 'mtd_spend_usd'])
        .where('scope_type', '=', 'all')
        .where('as_of_date', '>=', forecast.month_start!)
        .where('as_of_date', '<=', day)
        .orderBy('as_of_date')
        .execute();
    return { forecast, days: days.map((d) => ({ day: d.as_of_date!, cumulative: Number(d.mtd_spend_usd) })) };
}

export function backtestSentence(b: { n: string; months: string; in80: string | null; in95: string | null; mape: string | null }): string {
    if (Number(b.n) === 0) return 'No complete month of data yet to test the forecast against: its interval is unmeasured.';
    const p = (v: string | null) => `${Math.round(Number(v) * 100)}%`;
    return `Measured on ${formatInt(b.n)} past forecasts of all spend over ${b.months} complete month(s): the month's actual fell inside the 80% interval ${p(b.in80)} of the time and inside the 95% interval ${p(b.in95)}; mean absolute error ${Number(b.mape).toFixed(1)}%.`;
}

const interval = (b: Budget) =>
    b.forecast_low_80_usd === null ? '' : ` <span class="muted">(80%: ${formatUsd(b.forecast_low_80_usd)}–${formatUsd(b.forecast_high_80_usd)})</span>`;

export const budgets: ReportSection = {
    id: 'budgets',

    async html(ctx) {
        const day = await asOfDay(ctx);
        if (!day) return { html: '<h2>Budgets and month-end forecast</h2>\n<div class="nodata">No data in this period</div>' };
        const rows = await loadBudgets(ctx, day);
        const month = await loadMonth(ctx, day);
        const backtest = await loadBacktest(ctx);
        const table = rows.length
            ? `<table class="compact"><thead><tr><th>Budget</th><th class="n">Budget</th><th class="n">Spent</th><th class="n">Used</th><th class="n">Forecast</th><th class="n">Projected</th><th class="n">Days left</th><th>Status</th></tr></thead><tbody>${rows
                  .map(
                      (b) =>
                          `<tr><td>${esc(budgetName(b))}</td><td class="n">${formatUsd(b.amount_usd)}</td><td class="n">${formatUsd(b.mtd_spend_usd)}</td><td class="n">${b.pct_used}%</td><td class="n">${formatUsd(b.forecast_usd)}${interval(b)}${b.is_low_confidence ? ' <span class="muted">low confidence</span>' : ''}</td><td class="n">${b.projected_pct}%</td><td class="n">${b.days_until_exhausted ?? '—'}</td><td class="status-${esc(b.status)}">${esc(STATUS_LABEL[b.status ?? ''] ?? b.status)}${Number(b.unpriced_requests) > 0 ? ` <span class="muted">(${formatInt(b.unpriced_requests!)} unpriced)</span>` : ''}</td></tr>`,
                  )
                  .join('')}</tbody></table>`
            : '<div class="nodata">No budgets set: add rows to models/seeds/budgets.csv</div>';
        const allBudget = rows.find((b) => b.scope_type === 'all');
        const f = month?.forecast;
        const line = f
            ? await renderSvg(
                  forecastLineSpec(
                      month.days,
                      {
                          asOf: day,
                          monthEnd: f.month_end!,
                          mtd: Number(f.mtd_spend_usd),
                          forecast: Number(f.forecast_usd),
                          low80: f.forecast_low_80_usd === null ? null : Number(f.forecast_low_80_usd),
                          high80: f.forecast_high_80_usd === null ? null : Number(f.forecast_high_80_usd),
                          low95: f.forecast_low_95_usd === null ? null : Number(f.forecast_low_95_usd),
                          high95: f.forecast_high_95_usd === null ? null : Number(f.forecast_high_95_usd),
                      },
                      allBudget ? Number(allBudget.amount_usd) : undefined,
                  ),
              )
            : null;
        const forecastText = f
            ? `All spend, ${f.month_start!.slice(0, 7)}: ${formatUsd(f.mtd_spend_usd)} to ${fmtDate(day)}, forecast ${formatUsd(f.forecast_usd)} at month end${f.forecast_low_80_usd === null ? '' : ` (80% interval ${formatUsd(f.forecast_low_80_usd)}–${formatUsd(f.forecast_high_80_usd)}, 95% ${formatUsd(f.forecast_low_95_usd)}–${formatUsd(f.forecast_high_95_usd)})`}${f.is_low_confidence ? ', low confidence: under 14 days of history' : ''}.`
            : '';
        const bullet = rows.length ? await renderSvg(budgetBulletSpec(rows)) : null;
        return {
            html: `<h2>Budgets and month-end forecast (data to ${fmtDate(day)})</h2>
<div class="keep">${table}${bullet ? `<figure>${bullet}</figure><p class="note">Bars: spent so far; orange tick: forecast, grey lines: its 80% (thick) and 95% intervals; red tick: hard threshold, yellow: soft.</p>` : ''}</div>
<div class="keep"><p class="note">${esc(forecastText)} ${esc(backtestSentence(backtest))}</p>${figure(line, 'No forecast for this month')}</div>`,
            figures: {
                forecast: f ? formatUsd(f.forecast_usd) : '',
                backtest: backtestSentence(backtest),
                ...Object.fromEntries(rows.map((b) => [`status:${b.budget_id}`, b.status ?? ''])),
            },
        };
    },

    /** The budgets that need attention (a team digest: the team's budgets, whatever their state). */
    async digest(ctx) {
        const day = await asOfDay(ctx);
        if (!day) return { blocks: [] };
        const rows = (await loadBudgets(ctx, day)).filter((b) => ctx.team !== undefined || b.status !== 'ok');
        if (!rows.length) return { blocks: [] };
        const lines = rows
            .map(
                (b) =>
                    `• ${mrkdwn(budgetName(b))}: ${STATUS_LABEL[b.status ?? ''] ?? b.status}, ${formatUsd(b.mtd_spend_usd)} of ${formatUsd(b.amount_usd)} (${b.pct_used}%), forecast ${formatUsd(b.forecast_usd)} (${b.projected_pct}%)${Number(b.unpriced_requests) > 0 ? `, ${formatInt(b.unpriced_requests!)} unpriced` : ''}`,
            )
            .join('\n');
        return { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Budgets, ${rows[0].budget_month}* (data to ${day})\n${lines}` } }] };
    },
};

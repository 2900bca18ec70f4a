import {
    allocateCents,
    formatCents,
    formatInt,
    formatMs,
    formatPercent,
    formatSignedPercent,
    formatUsd,
    formatUsdCents,
    fromUnits,
    toUnits,
} from '../format.js';
import type { Breakdown, WeeklyData } from './weekly-data.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface WeeklyCharts {
    readonly trendSvg: string | null;
    readonly tokenMixSvg: string | null;
}

/** The figures as displayed, so tests can compare the rendered document with SQL. */
export interface DisplayedFigures {
    readonly spend: string;
    readonly previousSpend: string;
    readonly monthToDate: string;
    readonly requests: string;
    readonly unpricedRequests: string;
    readonly teamRows: readonly { readonly team: string; readonly thisWeek: string }[];
    readonly teamTotal: string;
}

function signedCents(c: bigint): string {
    return c > 0n ? `+${formatCents(c)}` : formatCents(c);
}

/** An amount with, when some requests had no price, how many (so $0.00 never hides them). */
function withUnpriced(amount: string, unpriced: string): string {
    return BigInt(unpriced) > 0n ? `${amount} <small class="up">+${formatInt(unpriced)} unpriced</small>` : amount;
}

function breakdownTable(title: string, rows: readonly Breakdown[], headers: readonly [string, string]): { html: string; cents: bigint[]; total: bigint } {
    const thisWeek = allocateCents(rows.map((r) => r.thisWeek));
    const lastWeek = allocateCents(rows.map((r) => r.lastWeek));
    const body = rows
        .map((r, i) => {
            const change = thisWeek.parts[i] - lastWeek.parts[i];
            const share = thisWeek.total === 0n ? null : Number(thisWeek.parts[i]) / Number(thisWeek.total);
            const pct = lastWeek.parts[i] === 0n ? null : Number(change) / Number(lastWeek.parts[i]);
            return (
                `<tr><td>${esc(r.key)}</td><td>${esc(r.label2 ?? '')}</td><td class="n">${withUnpriced(formatCents(thisWeek.parts[i]), r.unpriced)}</td><td class="n">${formatCents(lastWeek.parts[i])}</td>` +
                `<td class="n ${change > 0n ? 'up' : change < 0n ? 'down' : ''}">${signedCents(change)} <small>${formatSignedPercent(pct)}</small></td><td class="n">${formatPercent(share)}</td></tr>`
            );
        })
        .join('\n');
    const totalChange = thisWeek.total - lastWeek.total;
    const html = `<h2>${esc(title)}</h2>
<table><thead><tr><th>${esc(headers[0])}</th><th>${esc(headers[1])}</th><th class="n">This week</th><th class="n">Last week</th><th class="n">Change</th><th class="n">Share</th></tr></thead>
<tbody>${body}</tbody>
<tfoot><tr><td>Total</td><td></td><td class="n">${formatCents(thisWeek.total)}</td><td class="n">${formatCents(lastWeek.total)}</td><td class="n">${signedCents(totalChange)}</td><td class="n">${thisWeek.total === 0n ? '—' : '100.0%'}</td></tr></tfoot></table>`;
    return { html, cents: thisWeek.parts, total: thisWeek.total };
}

const fmtDate = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
export const periodLabel = (d: WeeklyData) => `${d.week.label} (${d.week.start} to ${d.week.end})`;
export const asOfLabel = (d: WeeklyData) => (d.notes.dataAsOf ? `${d.notes.dataAsOf.toISOString().replace('T', ' ').slice(0, 16)} UTC` : 'no data');

export function renderWeeklyHtml(data: WeeklyData, charts: WeeklyCharts, generatedAt: Date): { html: string; figures: DisplayedFigures } {
    const k = data.kpis;
    const spendCents = allocateCents([k.spend]).total;
    const prevCents = allocateCents([k.previousSpend]).total;
    const change = spendCents - prevCents;
    const changePct = prevCents === 0n ? null : Number(change) / Number(prevCents);
    const requests = BigInt(k.requests);
    const per1k = requests === 0n ? null : fromUnits((toUnits(k.spend) * 1000n) / requests);
    const unpriced = BigInt(k.unpricedRequests);
    const empty = requests === 0n;
    const teams = breakdownTable('Spend by team and cost center', data.byTeam, ['Team', 'Cost center']);
    const features = breakdownTable('Spend by feature', data.byFeature, ['Feature', 'Team']);
    const modelCents = allocateCents(data.byModel.map((m) => m.costUsd));
    const mix = (m: WeeklyData['byModel'][number]) => {
        const t = m.tokens;
        const all = [t.uncachedInput, t.cacheRead, t.cacheWrite, t.output, t.reasoning].map(Number);
        const sum = all.reduce((a, b) => a + b, 0);
        return all.map((x) => `<td class="n">${sum ? `${((100 * x) / sum).toFixed(0)}%` : '—'}</td>`).join('');
    };
    const modelRows = data.byModel
        .map(
            (m, i) =>
                `<tr><td>${esc(m.provider)}<br><b>${esc(m.model)}</b></td><td class="n">${formatInt(m.requests)}</td><td class="n">${withUnpriced(formatCents(modelCents.parts[i]), m.unpriced)}</td>${mix(m)}<td class="n">${formatUsdCents(fromUnits(toUnits(m.cacheReadSavingsUsd) + toUnits(m.cacheHitSavingsUsd)))}</td></tr>`,
        )
        .join('\n');
    const moverRows = (list: WeeklyData['movers']['up']) =>
        list.length
            ? list
                  .map(
                      (m) =>
                          `<tr><td>${esc(m.team)}</td><td>${esc(m.feature)}</td><td>${esc(m.model)}</td><td class="n">${formatUsdCents(m.lastWeek)}</td><td class="n">${formatUsdCents(m.thisWeek)}</td><td class="n ${Number(m.change) > 0 ? 'up' : 'down'}">${Number(m.change) > 0 ? '+' : ''}${formatUsd(m.change)}</td></tr>`,
                  )
                  .join('\n')
            : '<tr><td colspan="6" class="muted">None</td></tr>';
    const moverTable = (title: string, list: WeeklyData['movers']['up']) =>
        `<div class="keep"><h3>${title}</h3><table><thead><tr><th>Team</th><th>Feature</th><th>Model</th><th class="n">Last week</th><th class="n">This week</th><th class="n">Change</th></tr></thead><tbody>${moverRows(list)}</tbody></table></div>`;
    const healthRows = data.health
        .map(
            (h) =>
                `<tr><td>${esc(h.feature)}</td><td class="n">${formatInt(h.requests)}</td><td class="n ${h.errorRate > 0.05 ? 'up' : ''}">${formatPercent(h.errorRate)}</td><td class="n">${formatMs(h.p95LatencyMs)}</td><td class="n">${h.thumbsUpRate === null ? '—' : `${formatPercent(h.thumbsUpRate)} <small>(n=${formatInt(h.feedbackCount)})</small>`}</td></tr>`,
        )
        .join('\n');
    const n = data.notes;
    const testLine = n.testRun.runId
        ? `${n.testRun.passed} passed, ${n.testRun.warned} warned, ${n.testRun.failed} failed (run ${esc(n.testRun.runId.slice(0, 8))}, ${esc(n.testRun.at?.toISOString().slice(0, 16).replace('T', ' '))} UTC)${n.testRun.failing.length ? `: ${n.testRun.failing.map(esc).join(', ')}` : ''}`
        : 'no data-test run recorded';
    const chart = (svg: string | null, alt: string) => (svg ? `<figure>${svg}</figure>` : `<div class="nodata">${alt}</div>`);

    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>LLM spend, week ${esc(data.week.label)}</title>
<style>
@page { size: A4; margin: 22mm 14mm 18mm 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #1f2933; margin: 0 auto; max-width: 190mm; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 18pt; margin: 0 0 2pt; } h2 { font-size: 12.5pt; margin: 16pt 0 6pt; border-bottom: 1.5pt solid #2f6fb2; padding-bottom: 2pt; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 10pt 0 4pt; }
.sub { color: #52606d; margin-bottom: 10pt; }
.kpis { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6pt; }
.kpi { background: #f0f4f8; border-radius: 4pt; padding: 6pt 8pt; break-inside: avoid; }
.kpi .label { font-size: 8.5pt; color: #52606d; text-transform: uppercase; letter-spacing: .03em; }
.kpi .value { font-size: 15pt; font-weight: bold; } .kpi .detail { font-size: 8.5pt; color: #52606d; }
.kpi.alert { background: #fde8e8; } .kpi.alert .value { color: #b42318; }
table { width: 100%; border-collapse: collapse; font-size: 9pt; break-inside: auto; }
th { text-align: left; background: #e4ebf2; padding: 3pt 5pt; } td { padding: 2.5pt 5pt; border-bottom: .5pt solid #d9e2ec; }
tr { break-inside: avoid; } tfoot td { font-weight: bold; border-top: 1pt solid #1f2933; border-bottom: none; }
.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.up { color: #b42318; } .down { color: #1b7a47; } .muted { color: #7b8794; } small { color: #616e7c; }
figure { margin: 4pt 0; text-align: center; } figure svg { max-width: 100%; height: auto; }
.nodata, .banner { border: 1pt dashed #9aa5b1; padding: 14pt; text-align: center; color: #52606d; margin: 6pt 0; }
.banner { border-style: solid; border-color: #d64545; color: #b42318; background: #fde8e8; }
.notes li { margin-bottom: 2pt; } .keep { break-inside: avoid; } table.compact { font-size: 8pt; } table.compact td { padding: 2pt 4pt; } .page-break { break-before: page; }
</style></head><body>
<h1>LLM spend report, week ${esc(data.week.label)}</h1>
<div class="sub">${esc(fmtDate(data.week.start))} to ${esc(fmtDate(data.week.end))} (UTC) · data as of ${esc(asOfLabel(data))} · generated ${esc(generatedAt.toISOString().slice(0, 16).replace('T', ' '))} UTC</div>
${empty ? `<div class="banner">No usage data for week ${esc(data.week.label)}. The figures below are zero because nothing was loaded for these days, not because nothing was spent: check the data notes.</div>` : ''}
<div class="kpis">
  <div class="kpi"><div class="label">Spend this week</div><div class="value" id="kpi-spend">${formatCents(spendCents)}</div><div class="detail">previous week ${formatCents(prevCents)}</div></div>
  <div class="kpi"><div class="label">Change vs previous week</div><div class="value ${change > 0n ? 'up' : change < 0n ? 'down' : ''}">${signedCents(change)}</div><div class="detail">${formatSignedPercent(changePct)}</div></div>
  <div class="kpi"><div class="label">Month to date</div><div class="value">${formatUsd(k.monthToDate)}</div><div class="detail">${esc(k.monthStart)} to ${esc(data.week.end)}</div></div>
  <div class="kpi"><div class="label">Requests</div><div class="value">${formatInt(k.requests)}</div><div class="detail">deduplicated model calls</div></div>
  <div class="kpi"><div class="label">Cost per 1k requests</div><div class="value">${per1k === null ? '—' : formatUsd(per1k)}</div><div class="detail">cache savings ${formatUsd(fromUnits(toUnits(k.cacheHitSavings) + toUnits(k.cacheReadSavings)))}</div></div>
  <div class="kpi ${unpriced > 0n ? 'alert' : ''}"><div class="label">Unpriced requests</div><div class="value">${formatInt(k.unpricedRequests)}</div><div class="detail">${unpriced > 0n ? 'spend above excludes these: see data notes' : 'every request has a price'}</div></div>
</div>
<h2>Daily spend, last 12 weeks, by team</h2>
${chart(charts.trendSvg, 'No spend in the last 12 weeks')}
${teams.html}
${features.html}
<h2>Spend by provider and model</h2>
<table class="compact"><thead><tr><th>Provider / model</th><th class="n">Requests</th><th class="n">Spend</th><th class="n">Uncached<br>input</th><th class="n">Cache<br>read</th><th class="n">Cache<br>write</th><th class="n">Output</th><th class="n">Reason-<br>ing</th><th class="n">Cache<br>savings</th></tr></thead>
<tbody>${modelRows || '<tr><td colspan="9" class="muted">No requests</td></tr>'}</tbody>
<tfoot><tr><td>Total</td><td class="n">${formatInt(k.requests)}</td><td class="n">${formatCents(modelCents.total)}</td><td colspan="5" class="muted">token mix: share of each model's tokens</td><td class="n">${formatUsd(fromUnits(toUnits(k.cacheReadSavings) + toUnits(k.cacheHitSavings)))}</td></tr></tfoot></table>
<p class="muted" style="font-size:8pt">Cache savings = prompt-cache reads priced below uncached input, plus requests answered from the application's own cache (cost 0).</p>
${chart(charts.tokenMixSvg, 'No tokens this week')}
<h2>Top movers (team × feature × model)</h2>
${moverTable('Largest increases', data.movers.up)}
${moverTable('Largest decreases', data.movers.down)}
<div class="keep"><h2>Quality and reliability (context)</h2>
<table><thead><tr><th>Feature</th><th class="n">Requests</th><th class="n">Error rate</th><th class="n">p95 latency</th><th class="n">Thumbs-up rate</th></tr></thead><tbody>${healthRows || '<tr><td colspan="5" class="muted">No requests</td></tr>'}</tbody></table></div>
<div class="keep"><h2>Data notes</h2>
<ul class="notes">
  <li><b>Freshness:</b> latest event ${esc(asOfLabel(data))}.</li>
  <li><b>Coverage:</b> ${n.daysWithData.length} of 7 days have data${n.missingDays.length ? `; <span class="up">no data for ${n.missingDays.map(esc).join(', ')}</span> (figures for those days are missing, not zero)` : ''}.</li>
  <li><b>Data tests of the build:</b> ${testLine}.</li>
  <li><b>Unpriced:</b> ${unpriced > 0n ? `<span class="up">${formatInt(k.unpricedRequests)} requests have no price in force and are not in the spend figures</span>: ${n.unpricedModels.map((m) => `${esc(m.provider)}/${esc(m.model)} (${formatInt(m.requests)})`).join(', ')}. Add them to models/seeds/model_prices.csv and rebuild to re-price.` : 'none.'}</li>
  <li><b>Method:</b> spend is computed from token counts × the price in force at each request's timestamp (numeric, not float); duplicates are counted once; amounts are rounded to cents only for display, with parts rounded so they add up to their totals.</li>
</ul></div>
</body></html>
`;
    return {
        html,
        figures: {
            spend: formatCents(spendCents),
            previousSpend: formatCents(prevCents),
            monthToDate: formatUsd(k.monthToDate),
            requests: formatInt(k.requests),
            unpricedRequests: formatInt(k.unpricedRequests),
            teamRows: data.byTeam.map((r, i) => ({ team: r.key, thisWeek: formatCents(teams.cents[i]) })),
            teamTotal: formatCents(teams.total),
        },
    };
}

import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Browser } from 'puppeteer';
import type { DB } from '../../pipelines/db/database.js';
import { type Week, weeklyPeriod } from '../period.js';
import { writeOutput } from '../../pipelines/util/output-file.js';
import { htmlToPdf } from '../render/browser.js';
import { loadDataAsOf } from '../sections/data-notes.js';
import { esc, fmtDate, timeLabel } from '../sections/html.js';
import { type ReportSection, requireMarts, sectionContext } from '../sections/section.js';
import { weeklySections } from './weekly-sections.js';

export interface WeeklyReport {
    /** Figures as displayed, by name (see each section), for the CLI summary and tests. */
    readonly figures: Readonly<Record<string, string>>;
    readonly htmlPath: string;
    readonly pdfPath: string | undefined;
    readonly seconds: number;
}

/** The reports' print stylesheet (A4), shared by the weekly report and the chargeback statement. */
export const STYLE = `@page { size: A4; margin: 22mm 14mm 18mm 14mm; }
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
.note { font-size: 8pt; color: #52606d; margin: 2pt 0; } .status-hard { color: #b42318; font-weight: bold; } .status-soft, .status-projected_over { color: #a8640a; font-weight: bold; }
.verdict-better { color: #2e8540; font-weight: bold; } .verdict-worse, .verdict-sample-ratio-mismatch, .status-exhausted, .drift-drifted { color: #b42318; font-weight: bold; } .status-burning, .drift-moved, .drift-moderate { color: #a8640a; font-weight: bold; }`;

/** The sections' HTML in one self-contained document (inline SVG and CSS, no external URL). */
export async function renderWeeklyHtml(
    db: Kysely<DB>,
    week: Week,
    now: Date,
    sections?: readonly ReportSection[],
): Promise<{ html: string; figures: Record<string, string>; asOf: string }> {
    await requireMarts(db, 'report');
    const ctx = sectionContext(db, weeklyPeriod(week), { now });
    const parts = [];
    for (const s of sections ?? (await weeklySections())) if (s.html) parts.push(await s.html(ctx));
    const asOf = timeLabel(await loadDataAsOf(db));
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>LLM spend, week ${esc(week.label)}</title>
<style>
${STYLE}
</style></head><body>
<h1>LLM spend report, week ${esc(week.label)}</h1>
<div class="sub">${esc(fmtDate(week.start))} to ${esc(fmtDate(week.end))} (UTC) · data as of ${esc(asOf)} · generated ${esc(timeLabel(now))}</div>
${parts.map((p) => p.html).join('\n')}
</body></html>
`;
    return { html, figures: Object.assign({}, ...parts.map((p) => p.figures ?? {})), asOf };
}

/** Reads the marts, draws the charts, writes weekly-YYYY-Www.html and (with a browser) .pdf. */
export async function writeWeeklyReport(
    db: Kysely<DB>,
    week: Week,
    outDir: string,
    browser: Browser | undefined,
    now = new Date(),
    options: { readonly pdfTimeoutMs?: number } = {},
): Promise<WeeklyReport> {
    const started = Date.now();
    const { html, figures, asOf } = await renderWeeklyHtml(db, week, now);
    const base = join(outDir, `weekly-${week.label}`);
    writeOutput(`${base}.html`, html);
    let pdfPath: string | undefined;
    if (browser) {
        const pdf = await htmlToPdf(browser, html, {
            headerLeft: `tokenmart · LLM spend · ${week.label} (${week.start} to ${week.end})`,
            headerRight: `data as of ${asOf}`,
            timeoutMs: options.pdfTimeoutMs,
        });
        pdfPath = `${base}.pdf`;
        writeOutput(pdfPath, pdf);
    }
    return { figures, htmlPath: `${base}.html`, pdfPath, seconds: (Date.now() - started) / 1000 };
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Browser } from 'puppeteer';
import type { ReportDatabase } from '../mart-tables.js';
import type { Week } from '../period.js';
import { renderSvg } from '../render/chart.js';
import { htmlToPdf } from '../render/browser.js';
import { spendTrendSpec, tokenMixSpec } from './weekly-charts.js';
import { loadWeeklyData, type WeeklyData } from './weekly-data.js';
import { asOfLabel, periodLabel, renderWeeklyHtml, type DisplayedFigures } from './weekly-html.js';

export interface WeeklyReport {
    readonly data: WeeklyData;
    readonly figures: DisplayedFigures;
    readonly htmlPath: string;
    readonly pdfPath: string | undefined;
    readonly seconds: number;
}

/** Reads the marts, draws the charts, writes weekly-YYYY-Www.html and (with a browser) .pdf. */
export async function writeWeeklyReport(
    db: Kysely<ReportDatabase>,
    week: Week,
    outDir: string,
    browser: Browser | undefined,
    now = new Date(),
): Promise<WeeklyReport> {
    const started = Date.now();
    const data = await loadWeeklyData(db, week);
    const hasTrend = data.trend.some((r) => Number(r.costUsd) !== 0);
    const charts = {
        trendSvg: hasTrend ? await renderSvg(spendTrendSpec(data)) : null,
        tokenMixSvg: data.byModel.length ? await renderSvg(tokenMixSpec(data)) : null,
    };
    const { html, figures } = renderWeeklyHtml(data, charts, now);
    mkdirSync(outDir, { recursive: true });
    const base = join(outDir, `weekly-${week.label}`);
    writeFileSync(`${base}.html`, html);
    let pdfPath: string | undefined;
    if (browser) {
        const pdf = await htmlToPdf(browser, html, {
            headerLeft: `tokenmart · LLM spend · ${periodLabel(data)}`,
            headerRight: `data as of ${asOfLabel(data)}`,
        });
        pdfPath = `${base}.pdf`;
        writeFileSync(pdfPath, pdf);
    }
    return { data, figures, htmlPath: `${base}.html`, pdfPath, seconds: (Date.now() - started) / 1000 };
}

import { lastCompleteWeek } from '../../../reports/period.js';
import { usingBrowser } from '../../../reports/render/browser.js';
import { writeWeeklyReport } from '../../../reports/weekly/weekly-report.js';
import { defineStage } from './stage.js';

/** The weekly finance report (HTML and PDF) for the last complete week. */
export const reportStage = defineStage({
    name: 'report',
    kinds: ['weekly'],
    blockedBy: ['test'],
    records: 'files written',
    async run(ctx) {
        const week = lastCompleteWeek(ctx.now);
        const r = await usingBrowser((browser) =>
            writeWeeklyReport(ctx.handle.db, week, ctx.config.outputDir, browser, ctx.now, { pdfTimeoutMs: ctx.config.report.pdfTimeoutSeconds * 1000 }),
        );
        ctx.artifacts.push(r.htmlPath, r.pdfPath!);
        ctx.shared.pdfPath = r.pdfPath;
        return { status: 'success', rows: 2, detail: `week ${week.label}: ${r.figures.spend}` };
    },
    async whenBlocked() {
        return { status: 'blocked', detail: 'data tests failed: no report goes out' };
    },
});

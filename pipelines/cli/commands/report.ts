import type { Command } from 'commander';
import { writeChargebackReport } from '../../../reports/chargeback/chargeback-report.js';
import { formatCents } from '../../../reports/format.js';
import { lastCompleteWeek, parseIsoWeek } from '../../../reports/period.js';
import { usingBrowser } from '../../../reports/render/browser.js';
import { writeWeeklyReport } from '../../../reports/weekly/weekly-report.js';
import { monthFlag } from '../month-flag.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

/** YYYY-MM, or the last complete month (UTC). */
function monthOrLastComplete(value: string | undefined, now = new Date()): string {
    if (value === undefined) return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    return monthFlag('report chargeback', value);
}

export function registerReport(program: Command): void {
    const report = program.command('report').description('render reports from the marts');
    report
        .command('weekly')
        .description('weekly finance report: self-contained HTML and an A4 PDF')
        .option('--week <YYYY-Www>', 'ISO week (default: the last complete week)')
        .option('--out <dir>', 'output folder (default: config outputDir)')
        .option('--no-pdf', 'write the HTML only (no browser needed)')
        .action(async (flags: { week?: string; out?: string; pdf: boolean }) => {
            const config = configFrom(program.opts());
            const week = flags.week ? parseIsoWeek(flags.week) : lastCompleteWeek();
            const out = flags.out ?? config.outputDir;
            const result = await usingDatabase(config, (h) => {
                const db = h.db;
                return flags.pdf
                    ? usingBrowser((browser) => writeWeeklyReport(db, week, out, browser, new Date(), { pdfTimeoutMs: config.report.pdfTimeoutSeconds * 1000 }))
                    : writeWeeklyReport(db, week, out, undefined);
            });
            log(
                `report: week ${week.label}: spend ${result.figures.spend}, ${result.figures.requests} requests, ${result.figures.unpricedRequests} unpriced (${result.seconds.toFixed(1)} s)`,
            );
            process.stdout.write(`${result.htmlPath}\n${result.pdfPath ? `${result.pdfPath}\n` : ''}`);
        });
    report
        .command('chargeback')
        .description('monthly chargeback: a ledger CSV (cost center, amount, memo) and a PDF statement, one page per cost center')
        .option('--month <YYYY-MM>', 'the month (default: the last complete month)')
        .option('--out <dir>', 'output folder (default: config outputDir)')
        .option('--no-pdf', 'write the CSV and HTML only (no browser needed)')
        .action(async (flags: { month?: string; out?: string; pdf: boolean }) => {
            const config = configFrom(program.opts());
            const month = monthOrLastComplete(flags.month);
            const out = flags.out ?? config.outputDir;
            const result = await usingDatabase(config, (h) =>
                flags.pdf ? usingBrowser((browser) => writeChargebackReport(h.db, month, out, browser)) : writeChargebackReport(h.db, month, out, undefined),
            );
            log(`report: chargeback ${month}: ${Object.keys(result.totals).length} cost center(s), total ${formatCents(result.totalCents)}`);
            process.stdout.write(`${result.csvPath}\n${result.htmlPath}\n${result.pdfPath ? `${result.pdfPath}\n` : ''}`);
        });
}

import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { sendDigests } from '../reports/digest/send-digests.js';
import { dailyPeriod, lastCompleteWeek } from '../reports/period.js';
import { usingBrowser } from '../reports/render/browser.js';
import { writeWeeklyReport } from '../reports/weekly/weekly-report.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/**
 * bench:report: on the demo data (run `npm run demo` first), times the weekly HTML alone, the
 * weekly HTML+PDF with the browser start included, and the digest payload. Target: PDF < 10 s.
 */
const handle = await openDatabase(loadConfig(), (l) => console.error(l));
await migrateToLatest(handle.db);
const db = handle.db;
const marts = await db.introspection.getTables();
if (!marts.some((t) => t.schema === 'marts' && t.name === 'mart_daily_cost')) throw new Error('bench:report: no marts; run `npm run demo` first');
const week = lastCompleteWeek();
const out = join(tmpdir(), 'tokenmart-bench-report');
const runs = 3;
const time = async (fn: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
};
const html: number[] = [];
const pdf: number[] = [];
const digest: number[] = [];
for (let i = 0; i < runs; i++) {
    html.push(await time(() => writeWeeklyReport(db, week, out, undefined)));
    pdf.push(await time(() => usingBrowser((b) => writeWeeklyReport(db, week, out, b))));
    digest.push(
        await time(() =>
            sendDigests(handle.pool, db, {
                period: dailyPeriod(week.end),
                targets: [{ channel: '#bench' }],
                client: undefined,
                outDir: out,
                log: () => undefined,
            }),
        ),
    );
}
await closeDatabase(handle);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`week ${week.label}, median of ${runs} runs:`);
console.log(`  weekly HTML only (queries + charts)        : ${med(html).toFixed(2)} s  (baseline)`);
console.log(`  weekly HTML + PDF, browser start included  : ${med(pdf).toFixed(2)} s  = ${(med(pdf) / med(html)).toFixed(1)}x the HTML alone (target < 10 s)`);
console.log(`  daily digest payload (data + chart PNG)    : ${med(digest).toFixed(2)} s`);

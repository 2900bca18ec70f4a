import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../pipelines/db/database.js';
import { compile } from 'vega-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateCents, formatUsd } from '../reports/format.js';
import { isoWeekOf, parseIsoWeek, weeklyPeriod } from '../reports/period.js';
import { chromiumPath, usingBrowser } from '../reports/render/browser.js';
import { renderSvg, svgToPng } from '../reports/render/chart.js';
import { loadModels, tokenMixSpec } from '../reports/sections/models.js';
import { sectionContext } from '../reports/sections/section.js';
import { dailySpendSpec, loadTrend, spendTrendSpec } from '../reports/sections/spend-trend.js';
import { writeWeeklyReport, type WeeklyReport } from '../reports/weekly/weekly-report.js';
import { tempDir } from './support/event-fixtures.js';
import { projectDir } from './support/run-cli.js';
import { buildDemoMarts } from './support/demo-marts.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

let t: TestDatabase;
let db: Kysely<DB>;
let report: WeeklyReport;
let empty: WeeklyReport;
const out = tempDir('reports');

beforeAll(async () => {
    t = await createTestDatabase('reports');
    db = t.handle.db;
    await buildDemoMarts(t);
    await usingBrowser(async (browser) => {
        report = await writeWeeklyReport(db, parseIsoWeek('2026-W47'), out, browser);
        empty = await writeWeeklyReport(db, parseIsoWeek('2025-W10'), out, browser);
    });
}, 180_000);
afterAll(async () => {
    await t.drop();
});

const pdfText = (path: string) => execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });

describe('weekly report: the PDF a finance reader gets', () => {
    it('has non-blank A4 pages', () => {
        const info = execFileSync('pdfinfo', [report.pdfPath!], { encoding: 'utf8' });
        // A4 is 210 x 297 mm = 595.28 x 841.89 pt; Chromium rounds to whole CSS pixels (794 x 1123 px).
        const [, w, h] = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(info)!;
        expect(Math.abs(Number(w) - 595.28)).toBeLessThan(1);
        expect(Math.abs(Number(h) - 841.89)).toBeLessThan(1);
        const pages = Number(/Pages:\s+(\d+)/.exec(info)![1]);
        expect(pages).toBeGreaterThanOrEqual(2);
        const prefix = join(out, 'page');
        execFileSync('pdftoppm', ['-r', '40', '-png', report.pdfPath!, prefix]);
        for (let p = 1; p <= pages; p++) {
            const png = `${prefix}-${p}.png`;
            expect(statSync(png).size).toBeGreaterThan(5_000); // a blank page compresses to far less
            // Count non-white pixels via ImageMagick-free route: pdftotext says every page has text.
            expect(execFileSync('pdftotext', ['-f', String(p), '-l', String(p), report.pdfPath!, '-'], { encoding: 'utf8' }).trim().length).toBeGreaterThan(
                100,
            );
        }
    });

    it('prints the KPI figures that SQL computes from the marts', async () => {
        const text = pdfText(report.pdfPath!);
        const [k] = await t.query(`select round(sum(cost_usd), 2)::text as spend, sum(requests)::text as requests, sum(unpriced_requests)::text as unpriced
                                   from marts.mart_daily_cost where usage_date between '2026-11-16' and '2026-11-22'`);
        const [p] = await t.query(
            `select round(sum(cost_usd), 2)::text as spend from marts.mart_daily_cost where usage_date between '2026-11-09' and '2026-11-15'`,
        );
        const [m] = await t.query(
            `select round(sum(cost_usd), 2)::text as mtd from marts.mart_daily_cost where usage_date between '2026-11-01' and '2026-11-22'`,
        );
        // Formatted here by Intl (not the report's formatter): Postgres rounded half away from zero to cents.
        const usd = (amount: string) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(amount));
        const re = (s: string) => s.replace(/[$.]/g, (c) => `\\${c}`);
        // The first row of KPI cards: labels, then their values in the same columns.
        expect(text).toMatch(new RegExp(`SPEND THIS WEEK\\s+CHANGE VS PREVIOUS WEEK\\s+MONTH TO DATE\\s+${re(usd(k.spend))}\\s+\\S+\\s+${re(usd(m.mtd))}\\s`));
        expect(text).toContain(`previous week ${usd(p.spend)}`);
        expect(text).toContain(Number(k.requests).toLocaleString('en-US'));
        expect(Number(k.unpriced)).toBeGreaterThan(0); // the demo has an unpriced model: it must show
        expect(text).toMatch(new RegExp(`UNPRICED REQUESTS\\s[\\s\\S]*?${Number(k.unpriced).toLocaleString('en-US')}`));
        expect(text).toContain('mistral/mistral-large-2411');
        expect(text).toMatch(/data as of 2026-11-2\d \d\d:\d\d UTC/);
        expect(text).toMatch(/Page 1 of \d/);
    });

    it('every table total shown equals the sum of its rows as shown, and the SQL total', async () => {
        const text = pdfText(report.pdfPath!);
        const cents = (s: string) => BigInt(s.replace(/[$,.]/g, ''));
        const teamSection = text.slice(text.indexOf('Spend by team and cost center'), text.indexOf('Spend by feature'));
        const rows = [...teamSection.matchAll(/^\s*(\w+)\s+CC-\d+\s+(\$[\d,]+\.\d\d)/gm)].map((x) => cents(x[2]));
        const total = cents(/Total\s+(\$[\d,]+\.\d\d)/.exec(teamSection)![1]);
        expect(rows.length).toBe(Number(report.figures['team-breakdown.rows']));
        expect(rows.reduce((a, b) => a + b, 0n)).toBe(total);
        const [sql] = await t.query(
            `select round(sum(cost_usd), 2)::text as s from marts.mart_daily_team_cost where usage_date between '2026-11-16' and '2026-11-22'`,
        );
        expect(total).toBe(cents(sql.s));
        expect(report.figures['team-breakdown.total']).toBe(report.figures.spend);
    });

    it('says so when a week has no data, instead of a blank report', () => {
        const text = pdfText(empty.pdfPath!);
        expect(text).toContain('No usage data for week 2025-W10');
        expect(text).toContain('No spend in the last 12 weeks');
        expect(text).toMatch(/0 of 7 days have data/);
        expect(readFileSync(empty.htmlPath, 'utf8')).not.toContain('<svg');
    });

    it('writes self-contained HTML (inline SVG, no external URL)', () => {
        const html = readFileSync(report.htmlPath, 'utf8');
        expect(html).toContain('<svg');
        expect(html).not.toMatch(/(src|href)="https?:/);
    });
});

describe('charts and figures', () => {
    it('chart specs compile and render to SVG with their axis titles; PNG for Slack has pixels', async () => {
        const ctx = sectionContext(db, weeklyPeriod(parseIsoWeek('2026-W47')));
        const trend = await loadTrend(ctx);
        for (const spec of [
            spendTrendSpec(trend),
            tokenMixSpec(await loadModels(ctx)),
            dailySpendSpec(
                trend.slice(0, 14).map((r) => ({ day: r.day, costUsd: r.costUsd })),
                'Daily spend',
            ),
        ]) {
            expect(() => compile(spec)).not.toThrow();
            const svg = await renderSvg(spec);
            expect(svg.length).toBeGreaterThan(2_000);
            expect(svg).toMatch(/<text[^>]*>(Spend \(USD\)|Share of tokens)<\/text>/);
        }
        const png = svgToPng(await renderSvg(spendTrendSpec(trend)));
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(png.length).toBeGreaterThan(10_000);
    });

    it('rounds parts so they add up to the rounded total (largest remainder)', () => {
        // $1.00 in three equal parts of 0.3333333333: the total 0.9999999999 rounds to 100 cents; each part
        // floors to 33 (99 in all) and the one cent left goes to the largest remainder; equal remainders
        // go to the first part.
        expect(allocateCents(['0.3333333333', '0.3333333333', '0.3333333333'])).toEqual({ parts: [34n, 33n, 33n], total: 100n });
        // 0.335 + 0.335 + 0.33 = 1.00: floors 33, 33, 33; remainders 0.5, 0.5, 0 cents: the first 0.5 gets the cent.
        expect(allocateCents(['0.335', '0.335', '0.33'])).toEqual({ parts: [34n, 33n, 33n], total: 100n });
        // 1.004 + 2.004 + 3.004 = 6.012 -> 601 cents; floors 100, 200, 300; remainders all 0.4: one cent to the first.
        expect(allocateCents(['1.004', '2.004', '3.004'])).toEqual({ parts: [101n, 200n, 300n], total: 601n });
        // The largest remainder wins over order: 0.101 + 0.109 = 0.21 -> 21 cents; floors 10 + 10; remainders 0.1, 0.9.
        expect(allocateCents(['0.101', '0.109'])).toEqual({ parts: [10n, 11n], total: 21n });
        // Plain half-up rounding would show 0.01 + 0.01 + 0.01 = 0.03 for a total that is 0.02.
        expect(allocateCents(['0.006', '0.006', '0.006'])).toEqual({ parts: [1n, 1n, 0n], total: 2n });
        expect(formatUsd('0.0042')).toBe('$0.0042');
        expect(formatUsd('1234.005')).toBe('$1,234.01');
        expect(isoWeekOf('2026-11-22')).toEqual({ label: '2026-W47', start: '2026-11-16', end: '2026-11-22' });
        expect(isoWeekOf('2027-01-01').label).toBe('2026-W53');
    });

    it("never takes Ubuntu's snap stub for a browser (setup and the report agree)", () => {
        const dir = tempDir('browsers');
        const stub = '#!/bin/sh\n# Ubuntu: chromium is a snap\nexec /snap/bin/chromium "$@"\n';
        for (const name of ['google-chrome-stable', 'google-chrome', 'chromium', 'chromium-browser']) {
            writeFileSync(join(dir, name), stub, { mode: 0o755 });
        }
        const findBrowser = () => spawnSync('bash', [join(projectDir, '.ci/find-browser')], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin` } });
        expect(findBrowser().status).toBe(1);
        expect(() => chromiumPath({}, [join(dir, 'chromium-browser')])).toThrow(/^report: Chromium not found/);
        // A real browser binary (large, no snap hand-over) is used.
        writeFileSync(join(dir, 'chromium'), Buffer.alloc(200_000, 1), { mode: 0o755 });
        expect(findBrowser().stdout.trim()).toBe(join(dir, 'chromium'));
        expect(chromiumPath({}, [join(dir, 'chromium-browser'), join(dir, 'chromium')])).toBe(join(dir, 'chromium'));
    });

    it('a missing Chromium is one line with the fix', () => {
        expect(() => chromiumPath({ PUPPETEER_EXECUTABLE_PATH: '/nope/chrome' })).toThrow(/^report: Chromium not found .*run `npm run setup`/);
    });
});

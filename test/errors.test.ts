import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../pipelines/config/config.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { isoWeekOf } from '../reports/period.js';
import { htmlToPdf, usingBrowser } from '../reports/render/browser.js';
import { writeWeeklyReport } from '../reports/weekly/weekly-report.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/** A path under a regular file: no folder can be made there, whoever runs the test (root included). */
function unwritable(): string {
    const file = join(tempDir('not-a-folder'), 'file');
    writeFileSync(file, 'x');
    return join(file, 'out');
}

describe('every failure a user can cause is one line with the fix', () => {
    const db = useTestDatabase('errors');

    it('a report or digest before the first build', async () => {
        const env = { DATABASE_URL: db().url, TOKENMART_OUTPUT_DIR: tempDir('no-marts'), SLACK_BOT_TOKEN: '' };
        const report = await runCli(['report', 'weekly', '--week', '2026-W47', '--no-pdf'], env);
        expect([report.code, report.stderr.trim().split('\n').at(-1)]).toEqual([
            1,
            'tokenmart: report: the marts are not built in this database yet (marts.fct_requests, marts.mart_daily_cost, marts.mart_daily_team_cost, marts.mart_daily_quality missing); run `tokenmart build` or `tokenmart run` first',
        ]);
        const digest = await runCli(['digest', 'daily', '--day', '2026-11-22', '--dry-run'], env);
        expect(digest.stderr).toMatch(/^tokenmart: digest: the marts are not built in this database yet/m);
        // Built from here on, for the cases below.
        const dir = tempDir('errors-data');
        writeLog(dir, 'e.jsonl', jsonl([event(1, { request_id: 'errors_1', timestamp: '2026-11-18T10:00:00Z' })]));
        await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect((await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined })).build.ok).toBe(true);
    }, 60_000);

    it('an output folder that cannot be written: report, digest and docs', async () => {
        const out = unwritable();
        const env = { DATABASE_URL: db().url, TOKENMART_OUTPUT_DIR: out, SLACK_BOT_TOKEN: '' };
        const report = await runCli(['report', 'weekly', '--week', '2026-W47', '--no-pdf'], env);
        expect(report.code).toBe(1);
        expect(report.stderr.trim().split('\n').at(-1)).toBe(
            `tokenmart: cannot write ${out}/weekly-2026-W47.html (ENOTDIR); choose another --out, outputDir or TOKENMART_OUTPUT_DIR, or fix the folder`,
        );
        const digest = await runCli(['digest', 'daily', '--day', '2026-11-22', '--dry-run'], env);
        expect(digest.code).toBe(1);
        expect(digest.stderr).toMatch(
            /^tokenmart: cannot write .*\/digests\/daily_2026-11-22_all_llm-spend\.spend-2026-11-22\.png \(ENOTDIR\); choose another/m,
        );
        expect(digest.stderr).not.toMatch(/\n\s+at /); // no stack trace
        const docs = await runCli(['docs', '--out', out], env);
        expect(docs.code).toBe(1);
        expect(docs.stderr.trim().split('\n').at(-1)).toBe(
            `tokenmart: cannot write ${out}/manifest.json (ENOTDIR); choose another --out or outputDir, or fix the folder`,
        );
    }, 60_000);

    it('a nested config key with a typo is named, with the keys it could be', () => {
        const dir = tempDir('config-typo');
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ ingest: { maxErrorrate: 0.5 } }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(
            `config: ${join(dir, 'tokenmart.config.json')}: key "ingest.maxErrorrate" is not a known key (known: ingest.maxErrorRate, ingest.onChangedFile, ingest.keepText, ingest.batchFiles, ingest.maxDaysPerFile, ingest.attributes); fix the value or remove the key to use the default`,
        );
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ slack: 'x' }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/key "slack" must be an object with channel, alertChannel, teamChannels/);
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ retention: { rawDays: 0 } }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/key "retention.rawDays" must be a number from 1 to 36500/);
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ build: { statementTimeoutMinutes: 0 } }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/key "build.statementTimeoutMinutes" must be a number from 1 to 10080/);
        expect(loadConfig({ cwd: tempDir('config-default'), env: {} }).build).toEqual({ statementTimeoutMinutes: 60 });
        writeFileSync(
            join(dir, 'tokenmart.config.json'),
            JSON.stringify({ retention: { rawDays: 90 }, report: { pdfTimeoutSeconds: 30 }, slack: { teamChannels: { 'any-team': '#x' } } }),
        );
        expect(loadConfig({ cwd: dir, env: {} })).toMatchObject({ retention: { rawDays: 90 }, report: { pdfTimeoutSeconds: 30 } });
    });

    it('a PDF renderer that runs out of time is one line; a 1 MB label in a chart is cut before rendering', async () => {
        await usingBrowser(async (browser) => {
            // A page that takes 1 s to load (a script busy that long), against a 1 ms limit: '<p>x</p>'
            // alone once loaded within the millisecond, and the test passed only on a busy machine.
            const slow = '<p>x</p><script>const t = Date.now(); while (Date.now() - t < 1000) {}</script>';
            await expect(htmlToPdf(browser, slow, { headerLeft: '', headerRight: '', timeoutMs: 1 })).rejects.toThrow(
                /^report: the PDF renderer did not finish within 0 s; raise report\.pdfTimeoutSeconds in tokenmart\.config\.json, or write the HTML alone with --no-pdf$/,
            );
            // A value no loader would let through (bounded at 200 characters), written into the mart directly.
            await db().query(
                `insert into marts.mart_daily_team_cost (usage_date, team, cost_center, requests, cost_usd) values ('2026-11-18', repeat('L', 1000000), 'CC', 1, 1.5)`,
            );
            const report = await writeWeeklyReport(db().handle.db, isoWeekOf('2026-11-18'), tempDir('label-out'), browser);
            expect(report.pdfPath).toBeDefined();
            expect(readFileSync(report.htmlPath, 'utf8')).toContain(`${'L'.repeat(39)}…`);
        });
    }, 120_000);
});

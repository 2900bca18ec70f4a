import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { embeddedOptions } from '../../db/embedded-server.js';
import { generateDemoLogs, isoDate } from '../../demo/generate-demo-logs.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/config.js';
import { redactUrl } from '../../db/connect.js';
import { embeddedUrl } from '../../db/embedded-server.js';
import { runPipeline } from '../../run/run-pipeline.js';
import { dailyPeriod } from '../../../reports/digest/digest-data.js';
import { sendDigests } from '../../../reports/digest/send-digests.js';
import type { ReportDatabase } from '../../../reports/mart-tables.js';

interface DemoFlags {
    readonly endDate?: string;
    readonly days: string;
    readonly seed: string;
    readonly scale: string;
    readonly generateOnly?: boolean;
}

export function registerDemo(program: Command): void {
    program
        .command('demo')
        .description('generate realistic synthetic usage logs and run the pipeline on them')
        .option('--end-date <YYYY-MM-DD>', 'last day with data (default: yesterday, UTC)')
        .option('--days <n>', 'days of history', '63')
        .option('--seed <n>', 'random seed (same seed and dates = same files)', '42')
        .option('--scale <x>', 'volume factor (1 = about 2,000 requests a weekday)', '1')
        .option('--generate-only', 'write the log files and stop')
        .action(async (flags: DemoFlags) => {
            const config = configFrom(program.opts());
            const endDate = flags.endDate ?? isoDate(Date.now() - 86_400_000);
            if (!/^\d{4}-\d{2}-\d{2}$/.test(endDate) || Number.isNaN(Date.parse(endDate)))
                throw new UserError(`demo: --end-date "${endDate}" is not a date; write it as YYYY-MM-DD`);
            const days = Number(flags.days);
            if (!Number.isInteger(days) || days < 14 || days > 730) throw new UserError(`demo: --days "${flags.days}" must be a whole number from 14 to 730`);
            const demoHome = join(embeddedOptions().home, 'demo');
            const logsDir = resolve(demoHome, 'logs');
            const marker = join(demoHome, 'generated-for.json');
            const generatedFor = JSON.stringify({ endDate, days, seed: Number(flags.seed), scale: Number(flags.scale) });
            const previous = existsSync(marker) ? readFileSync(marker, 'utf8') : undefined;
            const started = Date.now();
            const demo = generateDemoLogs({ outDir: logsDir, endDate, days, seed: Number(flags.seed), scale: Number(flags.scale) });
            writeFileSync(marker, generatedFor);
            log(
                `demo: wrote ${demo.files.length} files, ${demo.events} events (${demo.malformedLines} malformed lines, ${demo.duplicateEvents} re-delivered duplicates, ${demo.lateEvents} late arrivals) to ${logsDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
            );
            if (flags.generateOnly) return;
            await usingDatabase(config, async (handle) => {
                if (previous !== undefined && previous !== generatedFor) {
                    // A new demo data set replaces the previous one rather than piling on top of it.
                    const prefix = `${pathToFileURL(logsDir).href}/`;
                    const { rowCount } = await handle.pool.query(
                        `with old as (update ops.load_manifest set status = 'superseded', superseded_at = now()
                                      where status = 'loaded' and starts_with(source_uri, $1) returning file_id)
                         delete from raw.events where file_id in (select file_id from old)`,
                        [prefix],
                    );
                    log(`demo: previous demo data set (${previous}) replaced: ${rowCount} raw rows removed`);
                }
                // The demo never posts to Slack, whatever the environment holds: payloads go to files.
                // Regenerated demo files replace their earlier versions instead of failing as "changed".
                const demoConfig: Config = { ...config, slack: { ...config.slack, token: undefined }, ingest: { ...config.ingest, onChangedFile: 'replace' } };
                const outcome = await runPipeline(handle, demoConfig, { kind: 'weekly', source: logsDir, log });
                if (outcome.status === 'skipped' || outcome.status === 'failed') throw new UserError(`demo: ${outcome.message}`);
                const db = handle.db as unknown as Kysely<ReportDatabase>;
                const daily = await sendDigests(handle.pool, db, {
                    period: dailyPeriod(endDate),
                    targets: [{ channel: config.slack.channel }],
                    client: undefined,
                    outDir: config.outputDir,
                    log,
                });
                const top = await handle.pool.query(
                    `select usage_date::text as day, team, feature, tenant, model, requests, round(cost_usd, 2)::text as cost_usd
                     from marts.mart_daily_cost where usage_date = (select max(usage_date) from marts.mart_daily_cost)
                     order by cost_usd desc limit 8`,
                );
                log('demo: top lines of marts.mart_daily_cost (latest day, by spend):');
                console.table(top.rows);
                const artifacts = [...outcome.artifacts, ...daily.map((d) => (d.outcome as { payloadPath: string }).payloadPath)];
                log('');
                log('demo: done. Results:');
                for (const a of artifacts) log(`  ${a}`);
                log(
                    `  marts: ${['fct_requests', 'mart_daily_cost', 'mart_daily_team_cost', 'mart_daily_usage', 'mart_daily_quality'].map((m) => `marts.${m}`).join(', ')}`,
                );
                log(`  query them: psql ${handle.embedded ? embeddedUrl(embeddedOptions()) : redactUrl(handle.url)}   (docs: npx tokenmart docs)`);
                if (outcome.status !== 'success') throw new UserError(`demo: ${outcome.message}`);
            });
        });
}

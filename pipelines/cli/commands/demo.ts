import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { embeddedOptions } from '../../db/embedded-server.js';
import { generateDemoLogs, isoDate } from '../../demo/generate-demo-logs.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';
import { runIngest } from './ingest.js';
import { loadModels, seedBuildTest } from '../../transform/transform.js';

interface DemoFlags {
    readonly endDate?: string;
    readonly days: string;
    readonly seed: string;
    readonly scale: string;
    readonly generateOnly?: boolean;
}

export function registerDemo(program: Command): void {
    program.command('demo')
        .description('generate realistic synthetic usage logs and run the pipeline on them')
        .option('--end-date <YYYY-MM-DD>', 'last day with data (default: yesterday, UTC)')
        .option('--days <n>', 'days of history', '63')
        .option('--seed <n>', 'random seed (same seed and dates = same files)', '42')
        .option('--scale <x>', 'volume factor (1 = about 2,000 requests a weekday)', '1')
        .option('--generate-only', 'write the log files and stop')
        .action(async (flags: DemoFlags) => {
            const config = configFrom(program.opts());
            const endDate = flags.endDate ?? isoDate(Date.now() - 86_400_000);
            if (!/^\d{4}-\d{2}-\d{2}$/.test(endDate) || Number.isNaN(Date.parse(endDate))) throw new UserError(`demo: --end-date "${endDate}" is not a date; write it as YYYY-MM-DD`);
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
            log(`demo: wrote ${demo.files.length} files, ${demo.events} events (${demo.malformedLines} malformed lines, ${demo.duplicateEvents} re-delivered duplicates, ${demo.lateEvents} late arrivals) to ${logsDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            if (flags.generateOnly) return;
            await usingDatabase(config, async (handle) => {
                if (previous !== undefined && previous !== generatedFor) {
                    // A new demo data set replaces the previous one rather than piling on top of it.
                    const prefix = pathToFileURL(logsDir).href + '/';
                    const { rowCount } = await handle.pool.query(
                        `with old as (update ops.load_manifest set status = 'superseded', superseded_at = now()
                                      where status = 'loaded' and starts_with(source_uri, $1) returning file_id)
                         delete from raw.events where file_id in (select file_id from old)`, [prefix]);
                    log(`demo: previous demo data set (${previous}) replaced: ${rowCount} raw rows removed`);
                }
                await runIngest(handle, config, logsDir);
                const outcome = await seedBuildTest(handle.pool, await loadModels(), { log });
                const top = await handle.pool.query(
                    `select usage_date::text as day, team, feature, tenant, model, requests, round(cost_usd, 2)::text as cost_usd
                     from marts.mart_daily_cost where usage_date = (select max(usage_date) from marts.mart_daily_cost)
                     order by cost_usd desc limit 8`);
                log('demo: top lines of marts.mart_daily_cost (latest day, by spend):');
                console.table(top.rows);
                if (!outcome.build.ok || !outcome.tests.ok) throw new UserError('demo: the build or its data tests failed (see above)');
            });
        });
}

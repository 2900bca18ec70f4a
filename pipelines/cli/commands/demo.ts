import type { Command } from 'commander';
import { redactUrl } from '../../db/connect.js';
import { embeddedOptions, embeddedUrl } from '../../db/embedded-server.js';
import { isoDate } from '../../demo/generate-demo-logs.js';
import { runDemo, writeDemoLogs } from '../../demo/run-demo.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

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
            const options = { home: embeddedOptions().home, endDate, days, seed: Number(flags.seed), scale: Number(flags.scale) };
            if (flags.generateOnly) {
                writeDemoLogs(options, log);
                return;
            }
            await usingDatabase(config, async (handle) => {
                const result = await runDemo(handle, config, options, log);
                log('demo: top lines of marts.mart_daily_cost (latest day, by spend):');
                console.table(result.topLines);
                log('');
                log('demo: done. Results:');
                for (const a of result.artifacts) log(`  ${a}`);
                log(`  marts: ${result.marts.join(', ')}`);
                log(`  query them: psql ${handle.embedded ? embeddedUrl(embeddedOptions()) : redactUrl(handle.url)}   (docs: npx tokenmart docs)`);
            });
        });
}

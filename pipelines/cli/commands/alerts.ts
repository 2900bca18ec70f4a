import type { Command } from 'commander';
import { sendAlerts } from '../../../reports/alerts/send-alerts.js';
import { createSlackClient } from '../../../reports/digest/slack.js';
import { addDays, isoDay } from '../../../reports/period.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerAlerts(program: Command): void {
    program
        .command('alerts')
        .description('send budget (P1 hard, P2 soft or projected over) and cost anomaly (P3) alerts for a day, each once')
        .option('--day <YYYY-MM-DD>', 'data through this day (default: yesterday, UTC)')
        .option('--dry-run', 'write the payloads to files instead of posting (also without SLACK_BOT_TOKEN)')
        .action(async (flags: { day?: string; dryRun?: boolean }) => {
            const config = configFrom(program.opts());
            const day = flags.day ?? addDays(isoDay(Date.now()), -1);
            if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UserError(`alerts: --day "${day}" is not a date; write YYYY-MM-DD`);
            const client = flags.dryRun || !config.slack.token ? undefined : createSlackClient(config.slack.token, process.env.SLACK_API_URL);
            if (!client && !flags.dryRun) log('alerts: no SLACK_BOT_TOKEN: writing the payloads instead of posting');
            const sent = await usingDatabase(config, (h) =>
                sendAlerts(h.pool, h.db, { day, alertChannel: config.slack.alertChannel, client, outDir: config.outputDir, log }),
            );
            const count = (s: string) => sent.filter((a) => a.status === s).length;
            log(
                `alerts: ${day}: ${sent.length} condition(s): ${count('delivered') + count('dry_run')} sent${client ? '' : ' (as files)'}, ${count('already_delivered')} already sent, ${count('superseded')} superseded by a worse level, ${count('failed')} failed`,
            );
            if (count('failed')) throw new UserError(`alerts: ${count('failed')} alert(s) not delivered: ${sent.find((a) => a.status === 'failed')!.detail}`);
        });
}

import type { Command } from 'commander';
import { sendDigests, teamTargets, type DigestTarget } from '../../../reports/digest/send-digests.js';
import { createSlackClient } from '../../../reports/digest/slack.js';
import { addDays, dailyPeriod, isoDay, lastCompleteWeek, parseIsoWeek, type Period, weeklyPeriod } from '../../../reports/period.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

interface DigestFlags {
    readonly channel?: string;
    readonly dryRun?: boolean;
    readonly day?: string;
    readonly week?: string;
    readonly perTeam?: boolean;
    readonly pdf?: string;
}

export function digestPeriod(kind: string, flags: { day?: string; week?: string }, now = new Date()): Period {
    if (kind === 'daily') {
        const day = flags.day ?? addDays(isoDay(now.getTime()), -1);
        if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UserError(`digest: --day "${day}" is not a date; write YYYY-MM-DD`);
        return dailyPeriod(day);
    }
    if (kind === 'weekly') return weeklyPeriod(flags.week ? parseIsoWeek(flags.week) : lastCompleteWeek(now));
    throw new UserError(`digest: "${kind}" is not a digest; use daily or weekly`);
}

export function registerDigest(program: Command): void {
    program
        .command('digest')
        .description('post the daily or weekly Slack digest (exactly once per period and channel)')
        .argument('<kind>', 'daily | weekly')
        .option('--channel <channel>', 'channel name or ID (default: config slack.channel)')
        .option('--day <YYYY-MM-DD>', 'daily: the day (default: yesterday, UTC)')
        .option('--week <YYYY-Www>', 'weekly: the ISO week (default: the last complete week)')
        .option('--per-team', 'also send each team its own digest (teams seed / config slack.teamChannels)')
        .option('--pdf <file>', 'weekly: the PDF to attach in the thread')
        .option('--dry-run', 'write the exact payload to a file instead of posting (also without SLACK_BOT_TOKEN)')
        .action(async (kind: string, flags: DigestFlags) => {
            const config = configFrom(program.opts());
            const period = digestPeriod(kind, flags);
            const client = flags.dryRun || !config.slack.token ? undefined : createSlackClient(config.slack.token, process.env.SLACK_API_URL);
            if (!client && !flags.dryRun) log('digest: no SLACK_BOT_TOKEN: writing the payload instead of posting');
            const sent = await usingDatabase(config, async (h) => {
                const targets: DigestTarget[] = [
                    { channel: flags.channel ?? config.slack.channel },
                    ...(flags.perTeam ? await teamTargets(h.pool, config.slack.teamChannels) : []),
                ];
                return sendDigests(h.pool, h.db, {
                    period,
                    targets,
                    client,
                    outDir: config.outputDir,
                    pdfPath: flags.pdf,
                    log,
                });
            });
            const failed = sent.filter((s) => s.outcome.status === 'failed');
            if (failed.length)
                throw new UserError(`digest: ${failed.length} of ${sent.length} digest(s) not delivered: ${(failed[0].outcome as { error: string }).error}`);
        });
}

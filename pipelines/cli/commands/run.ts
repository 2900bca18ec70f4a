import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import { runPipeline, type RunKind, type RunOutcome } from '../../run/run-pipeline.js';
import { startScheduler } from '../../run/scheduler.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export async function runOnce(config: Config, kind: RunKind, source: string | undefined, shouldStop?: () => boolean): Promise<RunOutcome> {
    return usingDatabase(config, (h) => runPipeline(h, config, { kind, source, log, shouldStop, slackApiUrl: process.env.SLACK_API_URL }));
}

export function registerRun(program: Command): void {
    program
        .command('run')
        .description('the whole pipeline once: ingest -> seed -> build -> test -> report -> notify (one run at a time)')
        .option('--daily', 'daily run: daily digest (default)')
        .option('--weekly', 'weekly run: weekly PDF/HTML report and weekly digest')
        .option('--source <uri>', 'override the configured source (directory or s3://bucket/prefix)')
        .action(async (flags: { daily?: boolean; weekly?: boolean; source?: string }) => {
            if (flags.daily && flags.weekly) throw new UserError('run: choose --daily or --weekly, not both');
            const outcome = await runOnce(configFrom(program.opts()), flags.weekly ? 'weekly' : 'daily', flags.source);
            log(`run: ${outcome.message}`);
            if (outcome.status !== 'skipped') for (const a of outcome.artifacts) process.stdout.write(`${a}\n`);
            if (outcome.status === 'failed' || outcome.status === 'blocked') throw new UserError(outcome.message);
        });

    program
        .command('schedule')
        .description('long-running scheduler for self-hosting (config schedules; SIGTERM stops after the current stage)')
        .action(async () => {
            const config = configFrom(program.opts());
            let stopRequested = false;
            const job = (kind: RunKind) => async () => {
                const o = await runOnce(config, kind, undefined, () => stopRequested);
                return o.message;
            };
            const scheduler = startScheduler(
                [
                    { name: 'daily', expression: config.schedules.daily, run: job('daily') },
                    { name: 'weekly', expression: config.schedules.weekly, run: job('weekly') },
                ],
                config.timezone,
                log,
            );
            // Handlers first, then the ready line: a signal right after it must find them in place.
            const stopped = new Promise<void>((resolve) => {
                const onSignal = (signal: string) => {
                    if (stopRequested) {
                        log(`schedule: second ${signal}: abandoning now (open transactions roll back; the next run redoes the work)`);
                        process.exit(130);
                    }
                    stopRequested = true;
                    log(`schedule: ${signal}: ${scheduler.running() ? 'finishing the current stage, then stopping' : 'stopping'}`);
                    void scheduler.stop().then(resolve);
                };
                process.on('SIGTERM', () => onSignal('SIGTERM'));
                process.on('SIGINT', () => onSignal('SIGINT'));
            });
            log(`schedule: daily "${config.schedules.daily}", weekly "${config.schedules.weekly}" (${config.timezone}); SIGTERM or Ctrl-C to stop`);
            await stopped;
            log('schedule: stopped');
        });
}

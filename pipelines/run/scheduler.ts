import cron from 'node-cron';
import { UserError } from '../util/errors.js';

export interface ScheduledJob {
    readonly name: string;
    readonly expression: string;
    readonly run: () => Promise<string>;
}

export interface Scheduler {
    /** Stops firing; resolves when the job in flight (if any) has finished. */
    stop(): Promise<void>;
    readonly running: () => boolean;
}

/**
 * The self-hosted scheduler: node-cron with a time zone, never overlapping (one job at a time
 * across all schedules, since runs share the pipeline lock anyway), one log line per run.
 */
export function startScheduler(jobs: readonly ScheduledJob[], timezone: string, log: (line: string) => void): Scheduler {
    for (const j of jobs) {
        if (!cron.validate(j.expression))
            throw new UserError(`schedule: "${j.expression}" (schedules.${j.name}) is not a cron expression; e.g. "0 6 * * *" for 06:00 daily`);
    }
    let inFlight: Promise<void> | undefined;
    let stopping = false;
    const tasks = jobs.map((job) =>
        cron.schedule(
            job.expression,
            async () => {
                if (stopping) return;
                if (inFlight) {
                    log(`schedule: ${job.name} skipped at ${new Date().toISOString()}: another job is still running`);
                    return;
                }
                const started = Date.now();
                inFlight = (async () => {
                    try {
                        const summary = await job.run();
                        log(`schedule: ${job.name} at ${new Date(started).toISOString()}: ${summary} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
                    } catch (err) {
                        log(`schedule: ${job.name} at ${new Date(started).toISOString()}: FAILED: ${(err as Error).message}`);
                    } finally {
                        inFlight = undefined;
                    }
                })();
                await inFlight;
            },
            { timezone, name: job.name },
        ),
    );
    return {
        running: () => inFlight !== undefined,
        async stop() {
            stopping = true;
            await Promise.all(tasks.map((t) => t.stop()));
            await inFlight;
            await Promise.all(tasks.map((t) => t.destroy()));
        },
    };
}

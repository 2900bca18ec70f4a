import { sendDigests, teamTargets } from '../../../reports/digest/send-digests.js';
import { addDays, dailyPeriod, isoDay, lastCompleteWeek, weeklyPeriod } from '../../../reports/period.js';
import { sendFailureNotice } from '../failure-notice.js';
import { defineStage } from './stage.js';

/** The digest of the run's period to the spend channel (and team channels), exactly once. */
export const notifyStage = defineStage({
    name: 'notify',
    blockedBy: ['test'],
    records: 'digests sent',
    async run(ctx) {
        const period = ctx.kind === 'weekly' ? weeklyPeriod(lastCompleteWeek(ctx.now)) : dailyPeriod(addDays(isoDay(ctx.now.getTime()), -1));
        const { config } = ctx;
        const targets = [
            { channel: config.slack.channel },
            ...(Object.keys(config.slack.teamChannels).length ? await teamTargets(ctx.handle.pool, config.slack.teamChannels) : []),
        ];
        const sent = await sendDigests(ctx.handle.pool, ctx.handle.db, {
            period,
            targets,
            client: ctx.slack,
            outDir: config.outputDir,
            pdfPath: ctx.shared.pdfPath,
            log: ctx.log,
            now: ctx.now,
        });
        for (const s of sent) if (s.outcome.status === 'dry_run') ctx.artifacts.push(s.outcome.payloadPath);
        const failed = sent.filter((s) => s.outcome.status === 'failed');
        if (failed.length) return { status: 'failed', rows: sent.length - failed.length, error: (failed[0].outcome as { error: string }).error };
        return { status: 'success', rows: sent.length, detail: sent.map((s) => `${s.digestId}: ${s.outcome.status}`).join('; ') };
    },
    /** Instead of digests: one short failure notice to the alert channel. */
    async whenBlocked(ctx, reason) {
        const notice = await sendFailureNotice(ctx.handle, ctx.config, ctx.slack, ctx.runId, reason, ctx.log);
        if (notice) ctx.artifacts.push(notice);
        return { status: 'blocked', detail: 'failure notice sent to the alert channel instead of digests' };
    },
});

import { sendAlerts } from '../../../reports/alerts/send-alerts.js';
import { addDays, isoDay } from '../../../reports/period.js';
import { defineStage } from './stage.js';

/** Budget (P1, P2) and anomaly (P3) alerts for yesterday's data, each delivered once. */
export const alertsStage = defineStage({
    name: 'alerts',
    blockedBy: ['test'],
    records: 'alerts sent',
    async run(ctx) {
        const sent = await sendAlerts(ctx.handle.pool, ctx.handle.db, {
            day: addDays(isoDay(ctx.now.getTime()), -1),
            alertChannel: ctx.config.slack.alertChannel,
            client: ctx.slack,
            outDir: ctx.config.outputDir,
            log: ctx.log,
        });
        for (const s of sent) if (s.status === 'dry_run' && s.detail) ctx.artifacts.push(s.detail);
        const failed = sent.filter((s) => s.status === 'failed');
        const fresh = sent.filter((s) => s.status === 'delivered' || s.status === 'dry_run');
        const tiers = ['P1', 'P2', 'P3'].map((t) => `${fresh.filter((s) => s.alert.tier === t).length} ${t}`).join(', ');
        if (failed.length) return { status: 'failed', rows: fresh.length, error: `${failed.length} alert(s) not delivered: ${failed[0].detail}` };
        return { status: 'success', rows: fresh.length, detail: `${tiers}; ${sent.length - fresh.length} already sent or superseded` };
    },
});

import { applyRetention } from '../../ops/retention.js';
import { defineStage } from './stage.js';

/** Drops raw events and quarantined lines older than retention.rawDays (marts keep their history). */
export const retentionStage = defineStage({
    name: 'retention',
    records: 'raw rows dropped',
    async run(ctx) {
        const days = ctx.config.retention.rawDays;
        if (days === undefined) return { status: 'skipped', detail: 'retention.rawDays not set: raw data is kept' };
        const r = await applyRetention(ctx.handle.pool, days, ctx.now);
        return {
            status: 'success',
            rows: r.rawEvents,
            detail: `raw before ${r.horizon} dropped: ${r.rawEvents} events, ${r.quarantinedLines} quarantined lines`,
        };
    },
});

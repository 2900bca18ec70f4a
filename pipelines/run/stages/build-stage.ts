import { buildModels, buildWindows } from '../../transform/build.js';
import { seedAll } from '../../transform/transform.js';
import { defineStage } from './stage.js';

/** Seeds, then every model in dependency order (incremental where it can). */
export const buildStage = defineStage({
    name: 'build',
    records: 'model rows written',
    async run(ctx) {
        await seedAll(ctx.handle.pool, ctx.project.project, ctx.log);
        const b = await buildModels(ctx.handle.pool, ctx.project.project, ctx.project.dag, {
            runId: ctx.runId,
            log: ctx.log,
            statementTimeoutMinutes: ctx.config.build.statementTimeoutMinutes,
        });
        const bad = b.results.filter((r) => r.status === 'error');
        if (bad.length) return { status: 'failed', error: bad[0].error };
        // The data tests then read only the days rebuilt incrementally (the rest is unchanged).
        ctx.shared.testWindows = buildWindows(b);
        return { status: 'success', rows: b.results.reduce((a, r) => a + (r.rows ?? 0), 0), detail: `${b.results.length} models` };
    },
});

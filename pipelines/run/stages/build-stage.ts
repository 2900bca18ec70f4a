import { buildModels } from '../../transform/build.js';
import { dataTestsAlongside } from '../../transform/data-tests.js';
import { seedAll } from '../../transform/transform.js';
import { defineStage } from './stage.js';

/**
 * Seeds, then every model in dependency order (incremental where it can). The data tests run
 * alongside, each as soon as the models it reads are built (the test stage reports them); a failed
 * build waits for the tests running and records none.
 */
export const buildStage = defineStage({
    name: 'build',
    records: 'model rows written',
    async run(ctx) {
        const { project, dag } = ctx.project;
        await seedAll(ctx.handle.pool, project, ctx.log);
        const tests = await dataTestsAlongside(ctx.handle.pool, project, new Set(project.models.map((m) => m.id)), { runId: ctx.runId, log: ctx.log });
        const b = await buildModels(ctx.handle.pool, project, dag, {
            runId: ctx.runId,
            log: ctx.log,
            statementTimeoutMinutes: ctx.config.build.statementTimeoutMinutes,
            sideJobs: tests.jobs,
        });
        const bad = b.results.filter((r) => r.status === 'error');
        if (bad.length) {
            await tests.abandon();
            return { status: 'failed', error: bad[0].error };
        }
        ctx.shared.tests = tests.finish();
        // Awaited by the test stage; a rejection it has not reached yet is not unhandled.
        ctx.shared.tests.catch(() => undefined);
        return { status: 'success', rows: b.results.reduce((a, r) => a + (r.rows ?? 0), 0), detail: `${b.results.length} models` };
    },
});

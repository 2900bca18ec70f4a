import { runDataTests } from '../../transform/data-tests.js';
import { defineStage } from './stage.js';

/**
 * The data tests: started alongside the build (build-stage.ts), finished here; run here in full
 * when the run has no build. An error-level failure blocks what goes out after it (reports, digests).
 */
export const testStage = defineStage({
    name: 'test',
    records: 'data tests run',
    async run(ctx) {
        const t = await (ctx.shared.tests ?? runDataTests(ctx.handle.pool, ctx.project.project, { runId: ctx.runId, log: ctx.log }));
        const failing = t.results.filter((r) => r.status === 'fail' || r.status === 'error');
        const count = (s: string) => t.results.filter((r) => r.status === s).length;
        return {
            status: failing.length ? 'blocked' : 'success',
            rows: t.results.length,
            detail: `${count('pass')} passed, ${count('warn')} warned, ${failing.length} failed`,
            error: failing.length ? `data tests failed (${failing.map((r) => r.name).join(', ')})` : undefined,
        };
    },
});

import { runIngest } from '../../ingest/run-ingest.js';
import { defineStage } from './stage.js';

/** Loads every file of the source not loaded yet (exactly once per file). */
export const ingestStage = defineStage({
    name: 'ingest',
    records: 'raw rows loaded',
    async run(ctx) {
        if (!ctx.source) return { status: 'skipped', detail: 'no source configured' };
        const s = await runIngest(ctx.handle, ctx.config, ctx.source, {}, ctx.log);
        const detail = `${s.filesLoaded} files loaded, ${s.filesSkipped} already loaded, ${s.rowsLoaded} rows, ${s.rowsQuarantined} quarantined`;
        if (s.filesFailed) {
            return {
                status: 'failed',
                rows: s.rowsLoaded,
                detail,
                error: `${s.filesFailed} file(s) not loaded: ${s.files.find((f) => f.status === 'failed')?.reason}`,
            };
        }
        return { status: 'success', rows: s.rowsLoaded, detail };
    },
});

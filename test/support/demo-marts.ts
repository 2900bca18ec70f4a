import { join } from 'node:path';
import { generateDemoLogs } from '../../pipelines/demo/generate-demo-logs.js';
import { ingest } from '../../pipelines/ingest/ingest.js';
import { localSource } from '../../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../../pipelines/transform/transform.js';
import { tempDir } from './event-fixtures.js';
import type { TestDatabase } from './test-database.js';

/** Small demo data (seeded), loaded and built: realistic marts for report tests. */
export async function buildDemoMarts(t: TestDatabase, endDate = '2026-11-22', days = 21, scale = 0.15): Promise<void> {
    const dir = join(tempDir('demo-marts'), 'logs');
    generateDemoLogs({ outDir: dir, endDate, days, seed: 7, scale });
    await ingest(t.handle.pool, localSource(dir), { maxErrorRate: 0.05, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
    const outcome = await seedBuildTest(t.handle.pool, await loadModels(), { log: () => undefined });
    if (!outcome.build.ok) throw new Error('demo marts did not build');
}

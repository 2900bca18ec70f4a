import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';

/**
 * One build in its own process, so its peak RSS is its own (bench:scale). argv: database URL,
 * full | incremental (models: TOKENMART_MODELS_DIR, else models/). Seeds, builds and runs the
 * data tests as it goes, as `tokenmart run` does.
 * Prints one JSON line: seconds, peak RSS, whether the build succeeded, failed error-level tests.
 */
const [url, mode] = process.argv.slice(2);
const handle = await openDatabase(loadConfig({ env: { DATABASE_URL: url } }));
const loaded = await loadModels();
const started = process.hrtime.bigint();
const out = await seedBuildTest(handle.pool, loaded, { fullRefresh: mode === 'full', log: () => undefined });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await closeDatabase(handle);
const failedTests = out.tests.results.filter((r) => r.status === 'fail' && r.severity === 'error' && !r.name.startsWith('freshness__')).map((r) => r.name);
const slowest = [...out.build.results]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map((r) => `${r.id} ${(r.ms / 1000).toFixed(1)} s${r.mode ? ` ${r.mode}` : ''}`);
process.stdout.write(`${JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, ok: out.build.ok, failedTests, slowest })}\n`);

import type { Command } from 'commander';
import { buildModels } from '../../transform/build.js';
import { selectModels } from '../../transform/dag.js';
import { runDataTests } from '../../transform/data-tests.js';
import { writeDocs } from '../../transform/docs.js';
import { join } from 'node:path';
import { loadModels, seedAll } from '../../transform/transform.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

interface SelectFlags {
    readonly select?: string[];
    readonly fullRefresh?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(/[\s,]+/).filter(Boolean)];

export function registerTransform(program: Command): void {
    program
        .command('seed')
        .description('load the CSV seeds under models/seeds/ (prices, teams, features, users)')
        .action(async () => {
            const { project } = await loadModels();
            await usingDatabase(configFrom(program.opts()), (h) => seedAll(h.pool, project, log));
        });

    program
        .command('build')
        .description('build the SQL models (staging -> intermediate -> marts); seeds first')
        .option('-s, --select <models>', 'name (just it), name+ (and downstream), +name (and upstream); repeatable', collect)
        .option('--full-refresh', 'rebuild incremental models from all history (re-prices everything)')
        .action(async (flags: SelectFlags) => {
            const loaded = await loadModels();
            const config = configFrom(program.opts());
            const result = await usingDatabase(config, async (h) => {
                await seedAll(h.pool, loaded.project, log);
                return buildModels(h.pool, loaded.project, loaded.dag, {
                    select: flags.select,
                    fullRefresh: flags.fullRefresh,
                    log,
                    statementTimeoutMinutes: config.build.statementTimeoutMinutes,
                });
            });
            const failed = result.results.filter((r) => r.status === 'error' || r.status === 'skipped');
            log(`build: run ${result.runId}: ${result.results.length - failed.length} of ${result.results.length} models built`);
            if (failed.length)
                throw new UserError(
                    `build: ${failed.filter((r) => r.status === 'error').length} model(s) failed and ${failed.filter((r) => r.status === 'skipped').length} skipped (see above); fix the SQL and rerun \`tokenmart build\``,
                );
        });

    program
        .command('test')
        .description('run the data tests in the models YAML and the raw source freshness check')
        .option('-s, --select <models>', 'only tests of these models (same syntax as build)', collect)
        .action(async (flags: SelectFlags) => {
            const loaded = await loadModels();
            const models = flags.select?.length ? new Set(selectModels(loaded.dag, flags.select).map((m) => m.id)) : undefined;
            const run = await usingDatabase(configFrom(program.opts()), (h) => runDataTests(h.pool, loaded.project, { models, log }));
            const count = (s: string) => run.results.filter((r) => r.status === s).length;
            log(`test: ${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('error')} errored (run ${run.runId})`);
            if (!run.ok) throw new UserError('test: error-level data tests failed (see above); reports are blocked until they pass');
        });

    program
        .command('docs')
        .description('write a browsable description of every model and column, with lineage (HTML + manifest.json)')
        .option('--out <dir>', 'output folder (default: <outputDir>/docs)')
        .action(async (flags: { out?: string }) => {
            const config = configFrom(program.opts());
            const loaded = await loadModels();
            const out = await usingDatabase(config, (h) => writeDocs(h.pool, loaded, flags.out ?? join(config.outputDir, 'docs')));
            log(`docs: ${out.relations} relations described in ${out.html} (and ${out.manifest})`);
        });
}

import type { Pool } from 'pg';
import { buildModels, type BuildResult, buildWindows } from './build.js';
import { buildDag, selectModels, type Dag } from './dag.js';
import { runDataTests, type TestRun } from './data-tests.js';
import { loadProject, type Project } from './project.js';
import { loadSeed, type SeedResult } from './seeds.js';

export interface LoadedProject {
    readonly project: Project;
    readonly dag: Dag;
}

export async function loadModels(root?: string): Promise<LoadedProject> {
    const project = loadProject(root);
    return { project, dag: await buildDag(project) };
}

export async function seedAll(pool: Pool, project: Project, log: (l: string) => void): Promise<SeedResult[]> {
    const out: SeedResult[] = [];
    for (const seed of project.seeds) {
        const r = await loadSeed(pool, seed);
        if (r.status === 'loaded') log(`seed: loaded ${r.id} (${r.rows} rows)`);
        out.push(r);
    }
    return out;
}

export interface TransformOutcome {
    readonly build: BuildResult;
    readonly tests: TestRun;
}

/** seed -> build -> test, as `tokenmart build --test` and `tokenmart run` do it. */
export async function seedBuildTest(
    pool: Pool,
    loaded: LoadedProject,
    options: { select?: readonly string[]; fullRefresh?: boolean; runId?: string; log: (l: string) => void },
): Promise<TransformOutcome> {
    await seedAll(pool, loaded.project, options.log);
    const build = await buildModels(pool, loaded.project, loaded.dag, options);
    const selected = new Set(selectModels(loaded.dag, options.select ?? []).map((m) => m.id));
    if (!options.select?.length) {
        for (const s of loaded.project.seeds) selected.add(s.id);
        for (const s of loaded.project.sources) selected.add(s.id);
    }
    const tests = await runDataTests(pool, loaded.project, { models: selected, runId: build.runId, log: options.log, windows: buildWindows(build) });
    return { build, tests };
}

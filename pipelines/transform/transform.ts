import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { buildModels, type BuildResult } from './build.js';
import { buildDag, selectModels, type Dag } from './dag.js';
import { dataTestsAlongside, type TestRun } from './data-tests.js';
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
        const days = r.dirtyDays
            ? `: its changed rows applied to ${r.dirtyDays.count} day(s), ${r.dirtyDays.first} to ${r.dirtyDays.last}, rebuilt at the next build`
            : '';
        if (r.status === 'loaded') log(`seed: loaded ${r.id} (${r.rows} rows)${days}`);
        out.push(r);
    }
    return out;
}

export interface TransformOutcome {
    readonly build: BuildResult;
    readonly tests: TestRun;
}

/**
 * seed -> build -> test, as `tokenmart run` does it (and the benchmarks): each test starts as soon
 * as the models it reads are built (dataTestsAlongside), in the build's idle connections.
 */
export async function seedBuildTest(
    pool: Pool,
    loaded: LoadedProject,
    options: { select?: readonly string[]; fullRefresh?: boolean; runId?: string; log: (l: string) => void },
): Promise<TransformOutcome> {
    await seedAll(pool, loaded.project, options.log);
    const runId = options.runId ?? randomUUID();
    const building = new Set(selectModels(loaded.dag, options.select ?? []).map((m) => m.id));
    const tested = new Set(building);
    if (!options.select?.length) {
        for (const s of loaded.project.seeds) tested.add(s.id);
        for (const s of loaded.project.sources) tested.add(s.id);
    }
    const tests = await dataTestsAlongside(pool, loaded.project, building, { models: tested, runId, log: options.log });
    const build = await buildModels(pool, loaded.project, loaded.dag, { ...options, runId, sideJobs: tests.jobs });
    return { build, tests: await tests.finish() };
}

import { UserError } from '../util/errors.js';
import { readRelations } from './dependencies.js';
import type { ModelDef, Project } from './project.js';

export interface Dag {
    /** Models in build order (every model after everything it reads). */
    readonly order: readonly ModelDef[];
    /** model id -> ids it reads (models, seeds and sources). */
    readonly upstream: ReadonlyMap<string, readonly string[]>;
    readonly downstream: ReadonlyMap<string, readonly string[]>;
}

/** Relations models may read that no model defines: the loader's tables and the build helpers. */
export const EXTERNAL_SCHEMAS = new Set(['raw', 'ops', 'tokenmart', 'pg_catalog', 'information_schema']);

export async function buildDag(project: Project): Promise<Dag> {
    const byId = new Map(project.models.map((m) => [m.id, m]));
    const known = new Set([...byId.keys(), ...project.seeds.map((s) => s.id), ...project.sources.map((s) => s.id)]);
    const upstream = new Map<string, string[]>();
    const downstream = new Map<string, string[]>();
    for (const m of project.models) {
        const refs = await readRelations(m.sql, m.path);
        for (const r of refs) {
            const schema = r.id.split('.')[0];
            if (!known.has(r.id) && !EXTERNAL_SCHEMAS.has(schema)) {
                throw new UserError(
                    `models: ${m.path}: reads ${r.id}, which is no model, seed or source; fix the name or add models/${schema}/${r.id.split('.')[1]}.sql`,
                );
            }
            if (r.id === m.id) throw new UserError(`models: ${m.path}: reads itself (${r.id})`);
        }
        upstream.set(
            m.id,
            refs.map((r) => r.id),
        );
        for (const r of refs) downstream.set(r.id, [...(downstream.get(r.id) ?? []), m.id]);
    }
    // Depth-first topological sort; a back edge is a cycle, reported with its path.
    const order: ModelDef[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
        const m = byId.get(id);
        if (!m) return;
        if (state.get(id) === 'done') return;
        if (state.get(id) === 'visiting') {
            const cycle = [...path.slice(path.indexOf(id)), id];
            throw new UserError(`models: ${m.path}: dependency cycle ${cycle.join(' -> ')}; break it by removing one of these references`);
        }
        state.set(id, 'visiting');
        for (const dep of upstream.get(id) ?? []) visit(dep, [...path, id]);
        state.set(id, 'done');
        order.push(m);
    };
    for (const m of [...project.models].sort((a, b) => a.id.localeCompare(b.id))) visit(m.id, []);
    return { order, upstream, downstream };
}

function closure(start: string, edges: ReadonlyMap<string, readonly string[]>): Set<string> {
    const out = new Set<string>();
    const stack = [start];
    while (stack.length) {
        for (const next of edges.get(stack.pop()!) ?? []) {
            if (!out.has(next)) {
                out.add(next);
                stack.push(next);
            }
        }
    }
    return out;
}

/** Every model, seed and source a model reads, directly or not. */
export function ancestorsOf(dag: Dag, id: string): Set<string> {
    return closure(id, dag.upstream);
}

/**
 * dbt-style selection: `name` (just it), `name+` (it and everything downstream), `+name` (it and
 * everything upstream). Names may omit the schema.
 */
export function selectModels(dag: Dag, selectors: readonly string[]): readonly ModelDef[] {
    if (!selectors.length) return dag.order;
    const chosen = new Set<string>();
    for (const raw of selectors) {
        const up = raw.startsWith('+');
        const down = raw.endsWith('+');
        const name = raw.replace(/^\+|\+$/g, '');
        const match = dag.order.find((m) => m.id === name || m.name === name);
        if (!match) throw new UserError(`build: --select ${raw}: no model named "${name}" (see \`tokenmart docs\` for the list)`);
        chosen.add(match.id);
        if (down) for (const id of closure(match.id, dag.downstream)) chosen.add(id);
        if (up) for (const id of closure(match.id, dag.upstream)) chosen.add(id);
    }
    return dag.order.filter((m) => chosen.has(m.id));
}

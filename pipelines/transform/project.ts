import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/project-root.js';

/** What a model's YAML can say; everything optional but the name. */
export type Materialization = 'view' | 'table' | 'incremental';
export type Severity = 'warn' | 'error';

export interface DataTestSpec {
    readonly name: string;
    readonly kind: 'not_null' | 'unique' | 'accepted_values' | 'relationships' | 'expression';
    readonly model: string;
    readonly columns: readonly string[];
    readonly values?: readonly string[];
    readonly to?: string;
    readonly field?: string;
    readonly sql?: string;
    readonly where?: string;
    readonly severity: Severity;
    readonly description?: string;
}

export interface ColumnDoc {
    readonly name: string;
    readonly description: string;
    readonly type?: string;
}

export interface ModelDef {
    /** schema.name, e.g. marts.mart_daily_cost. */
    readonly id: string;
    readonly name: string;
    readonly schema: string;
    readonly layer: 'staging' | 'intermediate' | 'marts';
    /** Subfolder inside the layer ('' at its top, 'finance' for models/marts/finance/): grouping only. */
    readonly folder: string;
    readonly path: string;
    readonly sql: string;
    readonly materialized: Materialization;
    /** incremental: the UTC date column rebuilt day by day. */
    readonly dayColumn?: string;
    readonly lookbackDays: number;
    /** incremental: days after a changed day whose rows depend on it too (rolling baselines); Infinity: all of them (lookahead_days: all). */
    readonly lookaheadDays: number;
    /** incremental: the period of day_column; a changed day rebuilds its whole week or month. */
    readonly grain: Grain;
    /**
     * incremental: a full rebuild may run as its incremental windows, at once on several
     * connections. Off for a model that reads all of its input whatever the window (staging's
     * dedupe reads every copy in raw): each chunk would read it again.
     */
    readonly chunkedFullRefresh: boolean;
    /**
     * On Citus (pipelines/db/citus.ts): the column the table is distributed by, beside raw.events'
     * shards (request_id). Ignored on a server without Citus.
     */
    readonly distributedBy?: string;
    readonly indexes: readonly IndexDef[];
    readonly description: string;
    readonly columns: readonly ColumnDoc[];
}

export type Grain = 'day' | 'week' | 'month';

/**
 * A btree index on the built table. `where` makes it partial: an index on a column most rows
 * leave null (task_id, trace_id) then costs a build only the rows that have it, and still serves
 * `column = x` lookups (the planner proves the predicate from the equality).
 */
export interface IndexDef {
    readonly columns: readonly string[];
    readonly where?: string;
    /**
     * UNIQUE NULLS NOT DISTINCT: the build fails rather than write a repeated key, and the data
     * test `unique` on the same columns is then the index's to keep (data-tests.ts).
     */
    readonly unique?: boolean;
}

const isColumns = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string');

/** `indexes:` entries: a list of columns, or { columns: [...], where: <predicate>, unique: true }. */
function indexesFrom(value: unknown, where: string): IndexDef[] {
    if (value === undefined) return [];
    const bad = (i: number) =>
        new UserError(
            `models: ${where}: indexes entry ${i + 1} must be a list of columns or { columns: [...], where: <predicate>, unique: true }: fix it in the model's YAML`,
        );
    if (!Array.isArray(value)) throw bad(0);
    return value.map((entry: unknown, i) => {
        if (isColumns(entry)) return { columns: entry };
        const e = entry as { columns?: unknown; where?: unknown; unique?: unknown } | null;
        if (
            e &&
            typeof e === 'object' &&
            isColumns(e.columns) &&
            (e.where === undefined || typeof e.where === 'string') &&
            (e.unique === undefined || typeof e.unique === 'boolean') &&
            Object.keys(e).every((k) => k === 'columns' || k === 'where' || k === 'unique')
        )
            return { columns: e.columns, ...(e.where === undefined ? {} : { where: e.where }), ...(e.unique ? { unique: true } : {}) };
        throw bad(i);
    });
}

const MODEL_CONFIG_KEYS = ['materialized', 'day_column', 'lookback_days', 'lookahead_days', 'grain', 'chunked_full_refresh', 'distributed_by', 'indexes'];

/**
 * A seed of dated rows (prices): each row applies from its `from` instant until the next row of
 * the same key. A change to it re-builds only the days its changed rows applied to (seeds.ts).
 */
export interface DatedBy {
    readonly key: readonly string[];
    readonly from: string;
}

export interface SeedDef {
    readonly id: string;
    readonly name: string;
    readonly path: string;
    readonly description: string;
    readonly columns: readonly (ColumnDoc & { readonly type: string })[];
    readonly datedBy?: DatedBy;
}

const SEED_CONFIG_KEYS = ['dated_by'];

function datedByFrom(cfg: Yaml, columns: readonly string[], where: string): DatedBy | undefined {
    const unknown = Object.keys(cfg).filter((k) => !SEED_CONFIG_KEYS.includes(k));
    if (unknown.length) throw new UserError(`models: ${where}: unknown config ${unknown.join(', ')}; known: ${SEED_CONFIG_KEYS.join(', ')}`);
    const d = cfg.dated_by as Yaml | undefined;
    if (d === undefined) return undefined;
    const ok =
        typeof d === 'object' &&
        Object.keys(d).every((k) => k === 'key' || k === 'from') &&
        Array.isArray(d.key) &&
        d.key.length > 0 &&
        d.key.every((c: unknown) => typeof c === 'string' && columns.includes(c)) &&
        typeof d.from === 'string' &&
        columns.includes(d.from);
    if (!ok)
        throw new UserError(
            `models: ${where}: config.dated_by must be { key: [columns], from: column }, columns of the seed (e.g. { key: [provider, model], from: effective_from })`,
        );
    return { key: d.key, from: d.from };
}

export interface SourceDef {
    readonly id: string;
    readonly description: string;
    readonly freshness?: { readonly column: string; readonly warnAfterHours: number; readonly errorAfterHours: number };
    readonly columns: readonly ColumnDoc[];
}

export interface Project {
    readonly root: string;
    readonly models: readonly ModelDef[];
    readonly seeds: readonly SeedDef[];
    readonly sources: readonly SourceDef[];
    readonly tests: readonly DataTestSpec[];
}

const LAYERS = ['staging', 'intermediate', 'marts'] as const;
const SEED_SCHEMA = 'seeds';

// biome-ignore lint/suspicious/noExplicitAny: YAML documents are untyped until validated field by field
type Yaml = Record<string, any>;

function testsFrom(entries: unknown, model: string, column: string | undefined, where: string): DataTestSpec[] {
    if (entries === undefined || entries === null) return [];
    if (!Array.isArray(entries)) throw new UserError(`models: ${where}: "tests" must be a list`);
    return entries.map((entry, i): DataTestSpec => {
        const [kind, args] = typeof entry === 'string' ? [entry, {}] : (Object.entries(entry as Yaml)[0] ?? []);
        const a = (args ?? {}) as Yaml;
        const severity: Severity = a.severity ?? 'error';
        if (severity !== 'warn' && severity !== 'error') throw new UserError(`models: ${where}: test ${i + 1} severity must be warn or error`);
        const columns: string[] = a.columns ?? (column ? [column] : []);
        const base = { model, columns, severity, where: a.where as string | undefined, description: a.description as string | undefined };
        const label = a.name ?? `${kind}__${model.replace('.', '_')}__${columns.join('_') || i}`;
        switch (kind) {
            case 'not_null':
            case 'unique':
                if (!columns.length) throw new UserError(`models: ${where}: ${kind} needs a column (put it under a column, or give columns: [...])`);
                return { ...base, kind, name: label };
            case 'accepted_values':
                if (!Array.isArray(a.values)) throw new UserError(`models: ${where}: accepted_values needs values: [...]`);
                return { ...base, kind, name: label, values: a.values.map(String) };
            case 'relationships':
                if (!a.to || !a.field) throw new UserError(`models: ${where}: relationships needs to: schema.model and field: column`);
                return { ...base, kind, name: label, to: a.to, field: a.field };
            case 'expression':
                if (!a.sql || !a.name) throw new UserError(`models: ${where}: expression tests need a name and sql (a query returning the failing rows)`);
                return { ...base, kind, name: a.name, sql: a.sql };
            default:
                throw new UserError(`models: ${where}: unknown test "${String(kind)}" (known: not_null, unique, accepted_values, relationships, expression)`);
        }
    });
}

function columnsFrom(entries: unknown): ColumnDoc[] {
    return ((entries as Yaml[] | undefined) ?? []).map((c) => ({ name: String(c.name), description: String(c.description ?? ''), type: c.type }));
}

const YAML_FILE = /\.ya?ml$/;
const rel = (path: string) => relative(process.cwd(), path) || path;

/** Every file under a layer folder, recursively (dotfiles skipped), sorted. */
function layerFiles(dir: string): string[] {
    const out: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith('.')) continue;
        const path = join(dir, e.name);
        if (e.isDirectory()) out.push(...layerFiles(path));
        else out.push(path);
    }
    return out;
}

function readYaml(file: string): Yaml {
    try {
        return (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Yaml;
    } catch (err) {
        throw new UserError(`models: ${rel(file)}: invalid YAML (${(err as Error).message.split('\n')[0]}); fix the syntax`);
    }
}

/** What may sit at the top of models/: the three layers and the seeds. */
function checkTopLevel(root: string): void {
    if (!existsSync(root)) throw new UserError(`models: ${root} does not exist; set TOKENMART_MODELS_DIR to a models folder, or unset it`);
    for (const e of readdirSync(root, { withFileTypes: true })) {
        if (e.name.startsWith('.') || (e.isFile() && /\.md$/i.test(e.name))) continue;
        if (e.isDirectory() && ([...LAYERS, 'seeds'] as string[]).includes(e.name)) continue;
        throw new UserError(
            `models: ${rel(join(root, e.name))} is outside the layers; models/ holds only staging/, intermediate/, marts/ (with subfolders) and seeds/: move it into one of them`,
        );
    }
}

/**
 * Reads models/ into one description of the project. Models are found recursively inside each
 * layer folder (models/marts/finance/x.sql is marts.x: the schema is the top folder, subfolders
 * only group); their YAML may sit in any folder of the layer. Model names are unique across the
 * project, so `-s name` is never ambiguous.
 */
export function loadProject(root = process.env.TOKENMART_MODELS_DIR || join(projectRoot, 'models')): Project {
    checkTopLevel(root);
    const models: ModelDef[] = [];
    const tests: DataTestSpec[] = [];
    const sources: SourceDef[] = [];
    const modelPaths = new Map<string, string>();
    for (const layer of LAYERS) {
        const dir = join(root, layer);
        if (!existsSync(dir)) continue;
        const files = layerFiles(dir);
        const stray = files.find((f) => !f.endsWith('.sql') && !YAML_FILE.test(f) && !/\.md$/i.test(f));
        if (stray) throw new UserError(`models: ${rel(stray)} is neither a model (.sql) nor its YAML (.yml); remove it or move it out of models/${layer}/`);
        const yamlModels = new Map<string, { file: string; entry: Yaml }>();
        for (const file of files.filter((f) => YAML_FILE.test(f))) {
            const doc = readYaml(file);
            for (const entry of (doc.models ?? []) as Yaml[]) {
                if (!entry?.name) throw new UserError(`models: ${rel(file)}: a model entry has no name`);
                const other = yamlModels.get(entry.name);
                if (other) throw new UserError(`models: model "${entry.name}" is described twice, in ${rel(other.file)} and ${rel(file)}; keep one entry`);
                yamlModels.set(entry.name, { file, entry });
            }
            for (const src of (doc.sources ?? []) as Yaml[]) {
                const f = src.freshness;
                sources.push({
                    id: src.name,
                    description: src.description ?? '',
                    columns: columnsFrom(src.columns),
                    freshness: f ? { column: f.column, warnAfterHours: Number(f.warn_after_hours), errorAfterHours: Number(f.error_after_hours) } : undefined,
                });
                for (const c of (src.columns ?? []) as Yaml[]) tests.push(...testsFrom(c.tests, src.name, c.name, `${rel(file)}: ${src.name}.${c.name}`));
            }
        }
        for (const path of files.filter((f) => f.endsWith('.sql'))) {
            const name = basename(path, '.sql');
            const twin = modelPaths.get(name);
            if (twin)
                throw new UserError(
                    `models: two models are named "${name}" (${rel(twin)} and ${rel(path)}); model names are unique across the project: rename one`,
                );
            modelPaths.set(name, path);
            const y = yamlModels.get(name);
            yamlModels.delete(name);
            const where = rel(y?.file ?? path);
            const entry = y?.entry ?? {};
            const cfg = (entry.config ?? {}) as Yaml;
            const materialized: Materialization = cfg.materialized ?? (layer === 'marts' ? 'table' : 'view');
            if (!['view', 'table', 'incremental'].includes(materialized))
                throw new UserError(`models: ${where}: ${name}: materialized must be view, table or incremental`);
            if (materialized === 'incremental' && !cfg.day_column)
                throw new UserError(`models: ${where}: ${name} is incremental but has no config.day_column (the UTC date column rebuilt day by day)`);
            const unknown = Object.keys(cfg).filter((k) => !MODEL_CONFIG_KEYS.includes(k));
            if (unknown.length) throw new UserError(`models: ${where}: ${name}: unknown config ${unknown.join(', ')}; known: ${MODEL_CONFIG_KEYS.join(', ')}`);
            const grain = (cfg.grain ?? 'day') as Grain;
            if (!['day', 'week', 'month'].includes(grain)) throw new UserError(`models: ${where}: ${name}: grain must be day, week or month`);
            for (const key of ['lookback_days', 'lookahead_days']) {
                const v = cfg[key] ?? 0;
                if (key === 'lookahead_days' && v === 'all') continue;
                if (!Number.isInteger(v) || v < 0 || v > 366)
                    throw new UserError(
                        `models: ${where}: ${name}: ${key} must be a whole number of days from 0 to 366${key === 'lookahead_days' ? ", or all (every later day's rows depend on a day)" : ''}`,
                    );
            }
            if (cfg.distributed_by !== undefined && (materialized === 'view' || typeof cfg.distributed_by !== 'string'))
                throw new UserError(`models: ${where}: ${name}: distributed_by names one column of a table or incremental model (Citus only)`);
            const id = `${layer}.${name}`;
            models.push({
                id,
                name,
                schema: layer,
                layer,
                folder: relative(dir, dirname(path)),
                path,
                sql: readFileSync(path, 'utf8'),
                materialized,
                dayColumn: cfg.day_column,
                lookbackDays: Number(cfg.lookback_days ?? 0),
                lookaheadDays: cfg.lookahead_days === 'all' ? Number.POSITIVE_INFINITY : Number(cfg.lookahead_days ?? 0),
                grain,
                chunkedFullRefresh: cfg.chunked_full_refresh !== false,
                distributedBy: cfg.distributed_by,
                indexes: indexesFrom(cfg.indexes, `${where}: ${name}`),
                description: String(entry.description ?? ''),
                columns: columnsFrom(entry.columns),
            });
            for (const c of (entry.columns ?? []) as Yaml[]) tests.push(...testsFrom(c.tests, id, c.name, `${where}: ${name}.${c.name}`));
            tests.push(...testsFrom(entry.tests, id, undefined, `${where}: ${name}`));
        }
        for (const [name, { file }] of yamlModels) {
            throw new UserError(
                `models: ${rel(file)}: describes model "${name}" but no ${name}.sql exists under models/${layer}/; remove the entry or add the SQL file`,
            );
        }
    }
    const seeds = loadSeeds(join(root, 'seeds'), tests);
    const names = new Set<string>();
    for (const t of tests) {
        if (names.has(t.name)) throw new UserError(`models: two data tests are named "${t.name}"; give one a distinct name`);
        names.add(t.name);
    }
    return { root, models, seeds, sources, tests };
}

/** models/seeds/: flat, CSV files and the YAML that types them. */
function loadSeeds(seedDir: string, tests: DataTestSpec[]): SeedDef[] {
    if (!existsSync(seedDir)) return [];
    const entries = readdirSync(seedDir, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.'))
        .sort((a, b) => a.name.localeCompare(b.name));
    const stray = entries.find((e) => !e.isFile() || !(e.name.endsWith('.csv') || YAML_FILE.test(e.name) || /\.md$/i.test(e.name)));
    if (stray) throw new UserError(`models: ${rel(join(seedDir, stray.name))} is not a seed (.csv) or its YAML; seeds/ is flat: remove or move it`);
    const seedYaml = new Map<string, Yaml>();
    for (const e of entries.filter((x) => YAML_FILE.test(x.name)))
        for (const s of (readYaml(join(seedDir, e.name)).seeds ?? []) as Yaml[]) seedYaml.set(s.name, s);
    const seeds: SeedDef[] = [];
    for (const e of entries.filter((x) => x.name.endsWith('.csv'))) {
        const name = basename(e.name, '.csv');
        const y = seedYaml.get(name);
        if (!y) throw new UserError(`models: seed ${rel(join(seedDir, e.name))} has no entry in models/seeds/*.yml; add one with its column types`);
        const columns = columnsFrom(y.columns).map((c) => ({ ...c, type: c.type ?? 'text' }));
        const id = `${SEED_SCHEMA}.${name}`;
        const datedBy = datedByFrom(
            (y.config ?? {}) as Yaml,
            columns.map((c) => c.name),
            `seeds: ${name}`,
        );
        seeds.push({ id, name, path: join(seedDir, e.name), description: String(y.description ?? ''), columns, ...(datedBy ? { datedBy } : {}) });
        for (const c of (y.columns ?? []) as Yaml[]) tests.push(...testsFrom(c.tests, id, c.name, `seeds: ${name}.${c.name}`));
        tests.push(...testsFrom(y.tests, id, undefined, `seeds: ${name}`));
    }
    return seeds;
}

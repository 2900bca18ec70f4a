import { join, relative } from 'node:path';
import type { Pool } from 'pg';
import { writeOutput } from '../util/output-file.js';
import { projectRoot } from '../util/project-root.js';
import { CONTRACT_COLUMNS, LOADER_COLUMNS } from '../ingest/contract/raw-columns.js';
import type { LoadedProject } from './transform.js';

const RAW_EVENTS = 'raw.events';
const CONTRACT_FILE = 'pipelines/ingest/contract/event-fields.ts';

export interface DocsOutput {
    readonly html: string;
    readonly manifest: string;
    readonly relations: number;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

interface RelationDoc {
    readonly id: string;
    readonly kind: string;
    readonly file: string;
    readonly description: string;
    readonly upstream: readonly string[];
    readonly downstream: readonly string[];
    readonly tests: readonly string[];
    readonly columns: readonly { name: string; type: string; description: string }[];
    readonly rows: string | null;
}

/**
 * Writes a browsable description of every seed, source and model: its columns (types from the
 * database, descriptions from the YAML), its tests and its lineage both ways.
 */
export async function writeDocs(pool: Pool, loaded: LoadedProject, outDir: string): Promise<DocsOutput> {
    const { project, dag } = loaded;
    const downstream = (id: string) => [...(dag.downstream.get(id) ?? [])];
    const dbColumns = async (id: string) =>
        (
            await pool.query<{ name: string; type: string }>(
                `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
         where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
                [id],
            )
        ).rows;
    const rowCount = async (id: string) =>
        (
            await pool.query<{ n: string | null }>(
                `select case when c.relkind = 'v' then null else greatest(c.reltuples, 0)::bigint::text end as n from pg_class c where c.oid = to_regclass($1)`,
                [id],
            )
        ).rows[0]?.n ?? null;
    const docs: RelationDoc[] = [];
    const describe = async (
        id: string,
        kind: string,
        file: string,
        description: string,
        documented: readonly { name: string; description: string }[],
        upstream: readonly string[],
    ) => {
        const byName = new Map(documented.map((c) => [c.name, c.description]));
        const actual = await dbColumns(id);
        const columns = actual.length
            ? actual.map((c) => ({ name: c.name, type: c.type, description: byName.get(c.name) ?? '' }))
            : documented.map((c) => ({ name: c.name, type: '(not built)', description: c.description }));
        docs.push({
            id,
            kind,
            file,
            description,
            upstream,
            downstream: downstream(id),
            tests: project.tests.filter((t) => t.model === id).map((t) => `${t.name} (${t.severity})`),
            columns,
            rows: await rowCount(id),
        });
    };
    for (const s of project.sources) {
        // raw.events is described by the event contract, its single definition.
        const isRaw = s.id === RAW_EVENTS;
        const columns = isRaw ? [...LOADER_COLUMNS, ...CONTRACT_COLUMNS, ...s.columns] : s.columns;
        await describe(s.id, 'source (loaded by tokenmart ingest)', isRaw ? CONTRACT_FILE : 'migrations/', s.description, columns, []);
    }
    for (const s of project.seeds) await describe(s.id, 'seed', relative(projectRoot, s.path), s.description, s.columns, []);
    for (const m of dag.order) {
        await describe(
            m.id,
            `${m.materialized}${m.dayColumn ? ` by ${m.dayColumn}` : ''}`,
            relative(projectRoot, m.path),
            m.description,
            m.columns,
            dag.upstream.get(m.id) ?? [],
        );
    }
    const manifest = join(outDir, 'manifest.json');
    writeOutput(
        manifest,
        `${JSON.stringify({ generated_at: new Date().toISOString(), relations: docs }, null, 2)}\n`,
        'choose another --out or outputDir, or fix the folder',
    );
    const link = (id: string) => `<a href="#${esc(id)}">${esc(id)}</a>`;
    const section = (d: RelationDoc) => `
<section id="${esc(d.id)}">
  <h2>${esc(d.id)} <small>${esc(d.kind)}${d.rows !== null ? ` · ~${esc(Number(d.rows).toLocaleString('en-US'))} rows` : ''}</small></h2>
  <p>${esc(d.description) || '<em>No description.</em>'}</p>
  <p class="meta">File: <code>${esc(d.file)}</code><br>
  Reads: ${d.upstream.length ? d.upstream.map(link).join(', ') : '—'}<br>
  Read by: ${d.downstream.length ? d.downstream.map(link).join(', ') : '—'}<br>
  Tests: ${d.tests.length ? d.tests.map(esc).join(', ') : '—'}</p>
  <table><thead><tr><th>column</th><th>type</th><th>description</th></tr></thead><tbody>
  ${d.columns.map((c) => `<tr><td><code>${esc(c.name)}</code></td><td>${esc(c.type)}</td><td>${esc(c.description)}</td></tr>`).join('\n  ')}
  </tbody></table>
</section>`;
    const html = join(outDir, 'index.html');
    writeOutput(
        html,
        `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenmart models</title>
<style>
body{font:14px/1.45 "DejaVu Sans",Arial,sans-serif;margin:0;display:flex;color:#1f2933}
nav{width:280px;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f8;padding:16px;box-sizing:border-box}
nav a{display:block;color:#1f2933;text-decoration:none;padding:2px 0}
main{flex:1;padding:16px 32px;max-width:1100px}
h2 small{font-weight:normal;color:#66788a;font-size:13px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e1e5ea;padding:4px 8px;text-align:left;vertical-align:top}
.meta{color:#3e4c59}code{font-size:12px}
</style></head><body>
<nav><h3>tokenmart</h3>${['source', 'seed', 'staging', 'intermediate', 'marts']
            .map(
                (g) =>
                    `<h4>${g}</h4>${docs
                        .filter((d) => (g === 'source' || g === 'seed' ? d.kind.startsWith(g) : d.id.startsWith(`${g}.`)))
                        .map((d) => link(d.id))
                        .join('')}`,
            )
            .join('')}</nav>
<main><h1>Models, columns and lineage</h1><p>Generated ${esc(new Date().toISOString())} by <code>tokenmart docs</code>. Marts are what analysts query; every figure ties back to <code>marts.fct_requests</code>.</p>
${docs.map(section).join('\n')}
</main></body></html>
`,
    );
    return { html, manifest, relations: docs.length };
}

import { relative } from 'node:path';
import { loadModule, parseSync, scanSync } from 'libpg-query';
import { citusSubsetProblems } from './citus-subset.js';
import type { ModelDef, Project } from './project.js';

/**
 * The house style of model SQL (dbt's jaffle-shop), checked with PostgreSQL's own parser and
 * scanner rather than by regex:
 * - `keywords`: keywords and unquoted identifiers are lower case;
 * - `explicit-join`: every join says its type (inner, left, right, full, cross);
 * - `explicit-as`: table and column aliases are written with `as`;
 * - `import-ctes`: relations outside the model (schema.name) are read only by import CTEs
 *   (`select * from schema.name [where ...]`), and those come first;
 * - `final`: the last CTE is `final` and the model ends with `select * from final`;
 * - `layout`: no tabs, no trailing spaces, indentation in fours, a final newline;
 * - `docs`: every model has a description in the YAML beside it;
 * - `citus-*`: model and data-test SQL stay inside what Citus runs (citus-subset.ts).
 */
export interface LintProblem {
    readonly file: string;
    readonly line: number;
    readonly rule: string;
    readonly message: string;
}

interface Token {
    readonly start: number;
    readonly end: number;
    readonly text: string;
    readonly keywordKind: number;
    readonly tokenName: string;
}

type Node = Record<string, unknown>;

const JOIN_TYPES = new Set(['inner', 'left', 'right', 'full', 'cross', 'outer']);
// Where a select-list item ends (at paren depth 0).
const CLAUSE_END = new Set(['from', 'where', 'group', 'having', 'order', 'limit', 'offset', 'union', 'intersect', 'except', 'window', 'fetch', 'for', 'into']);

function walk(node: unknown, visit: (key: string, value: Node) => void): void {
    if (Array.isArray(node)) {
        for (const n of node) walk(n, visit);
        return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) visit(key, value as Node);
        walk(value, visit);
    }
}

/** Schema-qualified relations read anywhere under a node. */
function externalReads(node: unknown): { id: string; location: number }[] {
    const out: { id: string; location: number }[] = [];
    walk(node, (key, value) => {
        if (key === 'RangeVar' && value.schemaname) out.push({ id: `${value.schemaname}.${value.relname}`, location: Number(value.location) });
    });
    return out;
}

/** `select * from schema.name [as x] [where ...]`: an import CTE. */
function isImport(select: Node | undefined): boolean {
    if (!select) return false;
    const targets = (select.targetList as Node[] | undefined) ?? [];
    const star = targets.length === 1 && JSON.stringify(targets[0]).includes('"A_Star"');
    const from = (select.fromClause as Node[] | undefined) ?? [];
    const single = from.length === 1 && 'RangeVar' in from[0] && Boolean((from[0].RangeVar as Node).schemaname);
    return star && single && !select.groupClause && !select.withClause && externalReads(select.whereClause).length === 0;
}

export function lintModel(model: ModelDef, root: string): LintProblem[] {
    const file = relative(root, model.path).startsWith('..') ? model.path : `models/${relative(root, model.path)}`;
    const sql = model.sql;
    const bytes = Buffer.from(sql, 'utf8');
    // The parser's locations are byte offsets; lines are counted on the text before them.
    const lineAt = (byteOffset: number) => bytes.subarray(0, byteOffset).toString('utf8').split('\n').length;
    const problems: LintProblem[] = [];
    const report = (line: number, rule: string, message: string) => problems.push({ file, line, rule, message });

    sql.split('\n').forEach((text, i) => {
        if (text.includes('\t')) report(i + 1, 'layout', 'a tab: indent with spaces');
        if (/\s$/.test(text)) report(i + 1, 'layout', 'trailing whitespace');
        const indent = /^( *)\S/.exec(text)?.[1].length ?? 0;
        if (indent % 4 !== 0 && !text.trimStart().startsWith('--')) report(i + 1, 'layout', `indented by ${indent} spaces: indent in fours`);
    });
    if (!sql.endsWith('\n')) report(sql.split('\n').length, 'layout', 'no newline at the end of the file');
    if (!model.description.trim()) report(1, 'docs', `${model.name} has no description in its YAML: describe what one row is`);

    let tree: { stmts?: { stmt?: Node }[] };
    let tokens: Token[];
    try {
        tree = parseSync(sql) as unknown as typeof tree;
        tokens = (scanSync(sql) as unknown as { tokens: Token[] }).tokens.filter((t) => !t.tokenName.endsWith('COMMENT'));
    } catch {
        return problems; // the dependency reader reports unparseable SQL with its line
    }
    for (const p of citusSubsetProblems(sql)) report(p.line, p.rule, p.message);
    for (const [i, t] of tokens.entries()) {
        const word = t.keywordKind > 0 || t.tokenName === 'IDENT';
        if (word && !t.text.startsWith('"') && t.text !== t.text.toLowerCase())
            report(lineAt(t.start), 'keywords', `"${t.text}": write keywords and names in lower case`);
        if (t.text.toLowerCase() === 'join' && !JOIN_TYPES.has(tokens[i - 1]?.text.toLowerCase() ?? '')) {
            report(lineAt(t.start), 'explicit-join', 'a join without its type: write inner join, left join, full join or cross join');
        }
    }
    const tokenAt = (byteOffset: number) => tokens.findIndex((t) => t.start === byteOffset);
    walk(tree, (key, value) => {
        if (key === 'RangeVar' && value.alias) {
            // relation [. relation] then its alias: the token before the alias must be `as`.
            let k = tokenAt(Number(value.location));
            if (k < 0) return;
            while (tokens[k + 1]?.text === '.') k += 2;
            if (tokens[k + 1]?.text.toLowerCase() !== 'as')
                report(lineAt(tokens[k].start), 'explicit-as', `alias "${(value.alias as Node).aliasname}" without as: write "as"`);
        }
        if (key === 'SelectStmt') {
            for (const target of (value.targetList as Node[] | undefined) ?? []) {
                const rt = target.ResTarget as Node | undefined;
                if (!rt?.name) continue;
                let k = tokenAt(Number(rt.location));
                if (k < 0) continue;
                let depth = tokens[k].text === '(' ? 1 : 0;
                for (; k + 1 < tokens.length; k++) {
                    const next = tokens[k + 1].text.toLowerCase();
                    if (next === '(') depth++;
                    else if (next === ')') {
                        if (depth === 0) break;
                        depth--;
                    } else if (depth === 0 && (next === ',' || (CLAUSE_END.has(next) && tokens[k].text.toLowerCase() !== 'within'))) break;
                }
                if (tokens[k - 1]?.text.toLowerCase() !== 'as')
                    report(lineAt(tokens[k].start), 'explicit-as', `column alias "${rt.name}" without as: write "as"`);
            }
        }
    });

    const top = tree.stmts?.[0]?.stmt?.SelectStmt as Node | undefined;
    if (!top) return problems;
    const ctes = ((top.withClause as Node | undefined)?.ctes as Node[] | undefined) ?? [];
    const targets = (top.targetList as Node[] | undefined) ?? [];
    const from = (top.fromClause as Node[] | undefined) ?? [];
    const endsWithFinal =
        targets.length === 1 &&
        JSON.stringify(targets[0]).includes('"A_Star"') &&
        from.length === 1 &&
        (from[0].RangeVar as Node | undefined)?.relname === 'final' &&
        !(from[0].RangeVar as Node).schemaname &&
        !top.whereClause;
    const lastCte = (ctes.at(-1)?.CommonTableExpr as Node | undefined)?.ctename;
    if (!endsWithFinal || lastCte !== 'final')
        report(lineAt(Buffer.byteLength(sql.trimEnd())), 'final', 'end with a CTE named final and `select * from final`');
    let seenLogic = false;
    for (const cte of ctes) {
        const c = cte.CommonTableExpr as Node;
        const query = (c.ctequery as Node).SelectStmt as Node | undefined;
        const reads = externalReads(c.ctequery);
        if (isImport(query)) {
            if (seenLogic) report(lineAt(Number(c.location)), 'import-ctes', `import CTE ${c.ctename} comes after logic: put every import CTE first`);
        } else {
            seenLogic = true;
            for (const r of reads) {
                report(
                    lineAt(r.location),
                    'import-ctes',
                    `CTE ${c.ctename} reads ${r.id} directly: read it in an import CTE (select * from ${r.id}) at the top`,
                );
            }
        }
    }
    for (const r of externalReads({ ...top, withClause: undefined }))
        report(lineAt(r.location), 'import-ctes', `the final select reads ${r.id}: read it in an import CTE`);
    return problems;
}

/** Every model of the project, checked. */
export async function lintProject(project: Project): Promise<LintProblem[]> {
    await loadModule();
    const tests = project.tests.flatMap((t) => (t.sql ? citusSubsetProblems(t.sql).map((p) => ({ ...p, file: `data test ${t.name} (on ${t.model})` })) : []));
    return [...project.models.flatMap((m) => lintModel(m, project.root)), ...tests];
}

export function formatProblem(p: LintProblem): string {
    return `${p.file}:${p.line}: ${p.message} (${p.rule})`;
}

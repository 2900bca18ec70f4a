import { parseSync } from 'libpg-query';

/**
 * The SQL that runs on a Citus cluster as it does on one PostgreSQL (pipelines/db/citus.ts),
 * found by running the pipeline on a coordinator with two workers (npm run check:citus). Model SQL
 * and data-test SQL keep to it, checked with PostgreSQL's own parser:
 * - `citus-table-function`: a function that reads a table (TABLE_READING_FUNCTIONS) is called
 *   only inside a `materialized` CTE. Elsewhere a worker evaluates it in its shard query, and it
 *   fails: "cannot execute a distributed query from a query on a shard".
 * - `citus-set-config`: no set_config(): it changes the coordinator's session only, so workers
 *   would read another window. The build sets the window with SET LOCAL, which Citus propagates.
 * - `citus-correlated-subquery`: no subquery that refers to a column of the query around it:
 *   "correlated subqueries are not supported when the FROM clause contains a CTE or subquery",
 *   and models read everything through CTEs. Join, or aggregate in a CTE and join that.
 */
export const TABLE_READING_FUNCTIONS: readonly string[] = ['tokenmart.retention_horizon'];

export interface SubsetProblem {
    /** 1-based line in the SQL. */
    readonly line: number;
    readonly rule: 'citus-table-function' | 'citus-set-config' | 'citus-correlated-subquery';
    readonly message: string;
}

type Node = Record<string, unknown>;

const names = (list: unknown): string[] => ((list as Node[] | undefined) ?? []).map((n) => String((n.String as Node | undefined)?.sval ?? ''));

/** The aliases (or names) a FROM list brings into scope, including joined relations. */
function fromAliases(from: unknown, out = new Set<string>()): Set<string> {
    for (const item of (from as Node[] | undefined) ?? []) {
        const rv = item.RangeVar as Node | undefined;
        if (rv) out.add(String((rv.alias as Node | undefined)?.aliasname ?? rv.relname));
        const sub = (item.RangeSubselect ?? item.RangeFunction) as Node | undefined;
        if (sub?.alias) out.add(String((sub.alias as Node).aliasname));
        const join = item.JoinExpr as Node | undefined;
        if (join) {
            fromAliases([join.larg, join.rarg], out);
            if (join.alias) out.add(String((join.alias as Node).aliasname));
        }
    }
    return out;
}

/** Qualified column references (alias.column) anywhere under a node. */
function qualifiedRefs(node: unknown, out: { alias: string; location: number }[] = []): { alias: string; location: number }[] {
    if (Array.isArray(node)) for (const n of node) qualifiedRefs(n, out);
    else if (node && typeof node === 'object') {
        const ref = (node as Node).ColumnRef as Node | undefined;
        const fields = names(ref?.fields);
        if (ref && fields.length >= 2 && fields[0]) out.push({ alias: fields[0], location: Number(ref.location) });
        for (const v of Object.values(node)) if (v && typeof v === 'object') qualifiedRefs(v, out);
    }
    return out;
}

/** Every alias defined by any FROM list under a node (a subquery's own scopes). */
function innerAliases(node: unknown, out = new Set<string>()): Set<string> {
    if (Array.isArray(node)) for (const n of node) innerAliases(n, out);
    else if (node && typeof node === 'object') {
        const select = (node as Node).SelectStmt as Node | undefined;
        if (select) fromAliases(select.fromClause, out);
        for (const v of Object.values(node)) if (v && typeof v === 'object') innerAliases(v, out);
    }
    return out;
}

/** Problems of one SQL text (a model or a data test); unparseable SQL is left to the dependency reader. */
export function citusSubsetProblems(sql: string): SubsetProblem[] {
    let tree: unknown;
    try {
        tree = parseSync(sql);
    } catch {
        return [];
    }
    const bytes = Buffer.from(sql, 'utf8');
    const lineAt = (byteOffset: number) => bytes.subarray(0, Math.max(0, byteOffset)).toString('utf8').split('\n').length;
    const problems: SubsetProblem[] = [];
    const visit = (node: unknown, inMaterialized: boolean): void => {
        if (Array.isArray(node)) {
            for (const n of node) visit(n, inMaterialized);
            return;
        }
        if (!node || typeof node !== 'object') return;
        const n = node as Node;
        const cte = n.CommonTableExpr as Node | undefined;
        if (cte) {
            visit(cte.ctequery, inMaterialized || cte.ctematerialized === 'CTEMaterializeAlways');
            return;
        }
        const call = n.FuncCall as Node | undefined;
        if (call) {
            const fn = names(call.funcname).join('.');
            if (TABLE_READING_FUNCTIONS.includes(fn) && !inMaterialized)
                problems.push({
                    line: lineAt(Number(call.location)),
                    rule: 'citus-table-function',
                    message: `${fn}() reads a table: call it in a materialized CTE (with x as materialized (select ${fn}() as value)) and read that, or Citus workers fail evaluating it`,
                });
            if (fn === 'set_config' || fn === 'pg_catalog.set_config')
                problems.push({
                    line: lineAt(Number(call.location)),
                    rule: 'citus-set-config',
                    message: 'set_config() in model SQL: it does not reach Citus workers; read the window with tokenmart.window_start()/window_end()',
                });
        }
        const sub = n.SubLink as Node | undefined;
        if (sub) {
            const own = innerAliases(sub.subselect);
            const outer = qualifiedRefs(sub.subselect).find((r) => !own.has(r.alias));
            if (outer)
                problems.push({
                    line: lineAt(outer.location),
                    rule: 'citus-correlated-subquery',
                    message: `a subquery refers to ${outer.alias} of the query around it: Citus does not run correlated subqueries over CTEs; join instead (aggregate in a CTE first)`,
                });
        }
        for (const v of Object.values(n)) if (v && typeof v === 'object') visit(v, inMaterialized);
    };
    visit(tree, false);
    return problems;
}

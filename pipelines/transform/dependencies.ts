import { loadModule, type ParseResult, parse } from 'libpg-query';
import { UserError } from '../util/errors.js';

export interface RelationRef {
    /** schema.name as written. */
    readonly id: string;
    /** Byte offset in the SQL text (from the parser), for error messages. */
    readonly location: number;
}

function lineOf(sql: string, location: number): number {
    return sql.slice(0, location).split('\n').length;
}

/**
 * The relations a model reads, found by PostgreSQL's own parser (libpg_query), never by regex:
 * CTE names are not relations, schema-qualified names are. An unqualified name that is not a CTE
 * is an error, so every dependency is explicit.
 */
export async function readRelations(sql: string, file: string): Promise<readonly RelationRef[]> {
    await loadModule();
    let tree: ParseResult;
    try {
        tree = await parse(sql);
    } catch (err) {
        const e = err as Error & { sqlDetails?: { cursorPosition?: number } };
        const pos = e.sqlDetails?.cursorPosition;
        throw new UserError(
            `models: ${file}${pos !== undefined ? `:${lineOf(sql, pos)}` : ''}: SQL does not parse: ${e.message}; fix the SQL (it must run as-is in psql)`,
        );
    }
    if (tree.stmts?.length !== 1 || !(tree.stmts[0].stmt && 'SelectStmt' in tree.stmts[0].stmt)) {
        throw new UserError(`models: ${file}: a model must be exactly one SELECT statement (found ${tree.stmts?.length ?? 0} statements)`);
    }
    const ctes = new Set<string>();
    const refs: RelationRef[] = [];
    const unqualified: { name: string; location: number }[] = [];
    const walk = (node: unknown): void => {
        if (Array.isArray(node)) {
            for (const n of node) walk(n);
            return;
        }
        if (node === null || typeof node !== 'object') return;
        for (const [key, value] of Object.entries(node)) {
            if (key === 'CommonTableExpr') ctes.add((value as { ctename: string }).ctename);
            if (key === 'RangeVar') {
                const rv = value as { schemaname?: string; relname: string; location: number };
                if (rv.schemaname) refs.push({ id: `${rv.schemaname}.${rv.relname}`, location: rv.location });
                else unqualified.push({ name: rv.relname, location: rv.location });
            }
            walk(value);
        }
    };
    walk(tree);
    for (const u of unqualified) {
        if (!ctes.has(u.name)) {
            throw new UserError(
                `models: ${file}:${lineOf(sql, u.location)}: "${u.name}" is neither a CTE nor schema-qualified; write schema.${u.name} (e.g. staging.${u.name})`,
            );
        }
    }
    const seen = new Set<string>();
    return refs.filter((r) => {
        if (seen.has(r.id)) return false;
        seen.add(r.id);
        return true;
    });
}

import { sql, type Kysely } from 'kysely';
import { CONTRACT_COLUMNS } from '../ingest/contract/raw-columns.js';
import { UserError } from '../util/errors.js';

// Postgres' own spelling of each type (format_type), to compare with what the table has.
const CANONICAL: Readonly<Record<string, string>> = { timestamptz: 'timestamp with time zone' };

/**
 * The migration helper for new contract fields: raw.events gets a nullable column for every
 * contract column it lacks, so adding a field to the contract needs no hand-written migration.
 * Additive only: a column whose type differs from the contract is an error, never altered.
 */
export async function syncContractColumns(db: Kysely<any>): Promise<string[]> {
    const { rows } = await sql<{ name: string; type: string }>`
        select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
        from pg_attribute as a
        where a.attrelid = to_regclass('raw.events') and a.attnum > 0 and not a.attisdropped`.execute(db);
    if (!rows.length) return [];
    const have = new Map(rows.map((r) => [r.name, r.type]));
    const added: string[] = [];
    for (const c of CONTRACT_COLUMNS) {
        const want = CANONICAL[c.type] ?? c.type;
        const type = have.get(c.name);
        if (type === undefined) {
            await sql`alter table raw.events add column if not exists ${sql.id(c.name)} ${sql.raw(c.type)}`.execute(db);
            added.push(`raw.events.${c.name} ${c.type}`);
        } else if (type !== want) {
            throw new UserError(
                `migrate: raw.events.${c.name} is ${type} but the contract says ${want}; contract fields are never retyped: add a new field instead`,
            );
        }
    }
    return added;
}

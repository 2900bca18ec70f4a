import { sql, type Kysely } from 'kysely';

/**
 * Contract v3's agent steps (`invoke_agent`, `execute_tool`) call no model: they have no provider,
 * model or token counts, so those raw.events columns accept NULL. The contract still requires them
 * of every model call (checked at load), and staging keeps steps apart from model calls.
 */
const COLUMNS = ['provider', 'model', 'input_tokens', 'output_tokens'];

export async function up(db: Kysely<any>): Promise<void> {
    for (const c of COLUMNS) await sql`alter table raw.events alter column ${sql.id(c)} drop not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`delete from raw.events where operation in ('invoke_agent', 'execute_tool')`.execute(db);
    for (const c of COLUMNS) await sql`alter table raw.events alter column ${sql.id(c)} set not null`.execute(db);
}

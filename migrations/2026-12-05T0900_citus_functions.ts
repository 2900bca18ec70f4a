import { sql, type Kysely } from 'kysely';

/**
 * tokenmart.refresh_first_copies as PL/pgSQL instead of SQL: Citus cannot plan a statement on a
 * distributed table inside a SQL function that takes parameters ("could not create distributed
 * plan"), so an erasure, a retention drop or a replaced file failed on a Citus cluster. The same
 * statements, the same result on one PostgreSQL.
 */
const BODY = `
    delete from raw.first_copies where request_id = any(ids);
    insert into raw.first_copies (request_id, file_id, line_no, record_no)
    select distinct on (request_id) request_id, file_id, line_no, record_no
    from raw.events
    where request_id = any(ids)
    order by request_id, file_id, line_no, record_no
    on conflict (request_id) do update
    set file_id = excluded.file_id, line_no = excluded.line_no, record_no = excluded.record_no
    where (excluded.file_id, excluded.line_no, excluded.record_no)
        < (raw.first_copies.file_id, raw.first_copies.line_no, raw.first_copies.record_no);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
    await sql.raw(`create or replace function tokenmart.refresh_first_copies(ids text[]) returns void language plpgsql as $$ begin ${BODY} end $$`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
    await sql.raw(`create or replace function tokenmart.refresh_first_copies(ids text[]) returns void language sql as $$ ${BODY} $$`).execute(db);
}

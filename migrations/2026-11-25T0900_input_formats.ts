import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
    // One line of another format (an OTLP batch, a provider's batch output) can hold many events:
    // each keeps its position in the line and its own id (a span id, a record id) for lineage.
    await sql`alter table raw.events add column record_no integer not null default 0, add column record_id text`.execute(db);
    await sql`alter table ops.quarantine add column record_no integer not null default 0`.execute(db);
    await sql`alter table ops.quarantine drop constraint quarantine_pkey, add primary key (file_id, line_no, record_no)`.execute(db);
    // The format a file was read as, and the records it holds that are not model calls (spans of
    // other work, log records of other events): counted, not loaded, not quarantined.
    await sql`alter table ops.load_manifest add column format text not null default 'native', add column records_skipped integer not null default 0`.execute(
        db,
    );
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`alter table ops.load_manifest drop column if exists format, drop column if exists records_skipped`.execute(db);
    await sql`delete from ops.quarantine where record_no <> 0`.execute(db);
    await sql`alter table ops.quarantine drop constraint quarantine_pkey, add primary key (file_id, line_no)`.execute(db);
    await sql`alter table ops.quarantine drop column if exists record_no`.execute(db);
    await sql`alter table raw.events drop column if exists record_no, drop column if exists record_id`.execute(db);
}

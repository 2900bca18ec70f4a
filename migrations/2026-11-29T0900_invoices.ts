import { sql, type Kysely } from 'kysely';

/**
 * The providers' own cost exports (`tokenmart invoices import`), one row per line as the provider
 * stated it, to reconcile against what tokenmart computes (marts.mart_invoice_reconciliation).
 * A file's lines are replaced as a whole: importing the same content again adds nothing, a new
 * version of the same file replaces the old one.
 */
export async function up(db: Kysely<any>): Promise<void> {
    await sql`
        create table ops.invoice_files (
            invoice_file_id bigserial primary key,
            source_uri text not null unique,
            content_sha256 text not null,
            format text not null,
            lines integer not null,
            total_usd numeric not null,
            imported_at timestamptz not null default now()
        )`.execute(db);
    await sql`
        create table raw.invoice_lines (
            invoice_file_id bigint not null references ops.invoice_files (invoice_file_id) on delete cascade,
            line_no integer not null,
            provider text not null,
            line_date date,
            month_start date not null,
            line_item text,
            model text,
            project_id text,
            amount_usd numeric not null,
            primary key (invoice_file_id, line_no)
        )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop table if exists raw.invoice_lines, ops.invoice_files`.execute(db);
}

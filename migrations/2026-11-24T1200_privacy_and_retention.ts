import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
    // Lines of erased subjects that a load did not load, and dimension values cut to their bound.
    await sql`alter table ops.load_manifest add column rows_forgotten integer not null default 0, add column values_cut integer not null default 0`.execute(db);
    // GDPR art. 17: who was erased (as a SHA-256, never the identifier), when, and what it removed.
    // The loader reads the hashes so a reloaded file cannot bring the person back.
    await sql`
        create table ops.erasures (
            erasure_id bigserial primary key,
            subject_kind text not null check (subject_kind in ('user', 'tenant')),
            subject_hash text not null,
            requested_at timestamptz not null default now(),
            rows_removed jsonb not null,
            days_touched date[] not null,
            unique (subject_kind, subject_hash)
        )`.execute(db);
    // Raw data older than the horizon is dropped (retention.rawDays); marts keep their history, and
    // a build never rebuilds days before it (it could not: their raw rows are gone).
    await sql`
        create table ops.retention (
            id boolean primary key default true check (id),
            raw_horizon date not null,
            applied_at timestamptz not null default now()
        )`.execute(db);
    await sql`
        create function tokenmart.retention_horizon() returns date language sql stable parallel safe as $$
            select coalesce((select raw_horizon from ops.retention), '-infinity'::date)
        $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop function if exists tokenmart.retention_horizon()`.execute(db);
    await sql`drop table if exists ops.retention, ops.erasures`.execute(db);
    await sql`alter table ops.load_manifest drop column if exists rows_forgotten, drop column if exists values_cut`.execute(db);
}

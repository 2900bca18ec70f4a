import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
    // One row per digest per period per channel: claimed before posting, ts stored after, so a
    // rerun never posts twice (see reports/digest/deliver-digest.ts for the protocol).
    await sql`
        create table ops.deliveries (
            digest_id text primary key,
            kind text not null,
            period text not null,
            channel text not null,
            status text not null check (status in ('claimed', 'posted', 'complete', 'failed')),
            channel_id text,
            message_ts text,
            files_uploaded boolean not null default false,
            attempts integer not null default 1,
            error text,
            claimed_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        )`.execute(db);
    await sql`
        create table ops.runs (
            run_id uuid primary key,
            kind text not null,
            status text not null check (status in ('running', 'success', 'failed', 'blocked', 'abandoned')),
            started_at timestamptz not null default now(),
            finished_at timestamptz,
            error text
        )`.execute(db);
    await sql`
        create table ops.run_stages (
            run_id uuid not null references ops.runs (run_id),
            stage text not null,
            status text not null check (status in ('success', 'failed', 'skipped', 'blocked')),
            rows bigint,
            duration_ms integer not null,
            detail text,
            error text,
            finished_at timestamptz not null default now(),
            primary key (run_id, stage)
        )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop table if exists ops.run_stages, ops.runs, ops.deliveries`.execute(db);
}

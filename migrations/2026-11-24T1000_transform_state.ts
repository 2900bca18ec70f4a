import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
    await sql`create schema if not exists tokenmart`.execute(db);
    // The build window of an incremental build, read by model SQL. Unset (psql, full refresh):
    // the whole of time, so every model file runs unchanged outside tokenmart.
    await sql`
        create function tokenmart.window_start() returns timestamptz language sql stable parallel safe as $$
            select coalesce(nullif(current_setting('tokenmart.window_start', true), '')::timestamptz, '-infinity'::timestamptz)
        $$`.execute(db);
    await sql`
        create function tokenmart.window_end() returns timestamptz language sql stable parallel safe as $$
            select coalesce(nullif(current_setting('tokenmart.window_end', true), '')::timestamptz, 'infinity'::timestamptz)
        $$`.execute(db);
    await sql`
        create function tokenmart.window_start_date() returns date language sql stable parallel safe as $$
            select (tokenmart.window_start() at time zone 'UTC')::date
        $$`.execute(db);
    await sql`
        create function tokenmart.window_end_date() returns date language sql stable parallel safe as $$
            select (tokenmart.window_end() at time zone 'UTC')::date
        $$`.execute(db);

    // UTC days whose raw rows changed, written by the loader in the same transaction as the rows.
    // Incremental models rebuild exactly these days (plus their lookback).
    await sql`
        create table ops.dirty_days (
            change_id bigserial primary key,
            usage_date date not null,
            file_id bigint not null,
            recorded_at timestamptz not null default now()
        )`.execute(db);
    // Backfill for rows loaded before this migration.
    await sql`
        insert into ops.dirty_days (usage_date, file_id)
        select distinct (event_at at time zone 'UTC')::date, file_id from raw.events`.execute(db);

    await sql`
        create table ops.model_state (
            model text primary key,
            last_change_id bigint not null,
            inputs_hash text not null,
            built_at timestamptz not null default now()
        )`.execute(db);
    await sql`
        create table ops.seed_state (
            seed text primary key,
            content_hash text not null,
            row_count integer not null,
            loaded_at timestamptz not null default now()
        )`.execute(db);
    await sql`
        create table ops.model_runs (
            run_id uuid not null,
            model text not null,
            materialized text not null,
            status text not null check (status in ('success', 'error', 'skipped', 'up_to_date')),
            mode text,
            rows_affected bigint,
            duration_ms integer not null,
            error text,
            started_at timestamptz not null default now(),
            primary key (run_id, model)
        )`.execute(db);
    await sql`
        create table ops.test_results (
            run_id uuid not null,
            test_name text not null,
            model text not null,
            severity text not null check (severity in ('warn', 'error')),
            status text not null check (status in ('pass', 'warn', 'fail', 'error')),
            failures bigint not null,
            sample jsonb,
            message text,
            duration_ms integer not null,
            tested_at timestamptz not null default now(),
            primary key (run_id, test_name)
        )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop table if exists ops.test_results, ops.model_runs, ops.seed_state, ops.model_state, ops.dirty_days`.execute(db);
    await sql`drop schema if exists tokenmart cascade`.execute(db);
}

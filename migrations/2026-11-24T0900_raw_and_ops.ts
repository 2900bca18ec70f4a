import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any>, never the app's current Database types.
export async function up(db: Kysely<any>): Promise<void> {
    await sql`create schema if not exists raw`.execute(db);
    await sql`create schema if not exists ops`.execute(db);

    // One row per loaded file version, written in the same transaction as the file's rows.
    await sql`
        create table ops.load_manifest (
            file_id bigserial primary key,
            load_id uuid not null,
            source_uri text not null,
            content_id text not null,
            size_bytes bigint not null,
            modified_at timestamptz,
            lines_total integer not null,
            rows_loaded integer not null,
            rows_quarantined integer not null,
            blank_lines integer not null,
            duplicate_rows integer not null,
            unknown_version_rows integer not null,
            redactions jsonb not null default '{}'::jsonb,
            status text not null default 'loaded' check (status in ('loaded', 'superseded')),
            loaded_at timestamptz not null default now(),
            superseded_at timestamptz
        )`.execute(db);
    // Exactly once: at most one live version per source file, even with two loaders racing.
    await sql`create unique index load_manifest_live_uri on ops.load_manifest (source_uri) where status = 'loaded'`.execute(db);

    // Every contract field gets a typed column (parsed once, at load, in the loader); nested values
    // and fields the contract does not know (yet) are kept in jsonb, so nothing of an event is lost.
    await sql`
        create table raw.events (
            file_id bigint not null references ops.load_manifest (file_id),
            line_no integer not null,
            schema_version integer not null,
            request_id text not null,
            event_at timestamptz not null,
            provider text not null,
            model text not null,
            input_tokens bigint not null,
            output_tokens bigint not null,
            status text not null,
            response_model text,
            operation text,
            session_id text,
            trace_id text,
            user_id text,
            team text,
            feature text,
            tenant text,
            environment text,
            prompt_version text,
            cache_read_tokens bigint,
            cache_write_tokens bigint,
            cache_write_1h_tokens bigint,
            reasoning_tokens bigint,
            service_tier text,
            latency_ms double precision,
            time_to_first_token_ms double precision,
            error_type text,
            retry_attempt integer,
            cache_hit boolean,
            reported_cost_usd numeric,
            feedback smallint,
            eval_scores jsonb,
            refusal boolean,
            guardrail_flags jsonb,
            outcome text,
            stages jsonb,
            tags jsonb,
            user_satisfaction_score smallint,
            prompt_chars integer,
            completion_chars integer,
            prompt_text text,
            completion_text text,
            extras jsonb
        )`.execute(db);
    // Events arrive roughly in time order and files in id order, so BRIN indexes stay tiny and
    // cheap to maintain during COPY while still letting one day or one load be read alone.
    await sql`create index events_event_at_brin on raw.events using brin (event_at)`.execute(db);
    await sql`create index events_file_id_brin on raw.events using brin (file_id)`.execute(db);
    await sql`create index events_request_id on raw.events (request_id)`.execute(db);

    await sql`
        create table ops.quarantine (
            file_id bigint not null references ops.load_manifest (file_id),
            source_uri text not null,
            line_no integer not null,
            reason text not null,
            line_text text not null,
            quarantined_at timestamptz not null default now(),
            primary key (file_id, line_no)
        )`.execute(db);

    // Files that failed as a whole (bad gzip, error rate over the limit, changed content): nothing
    // of them is loaded, but the failure is kept so it can be looked up.
    await sql`
        create table ops.load_failures (
            failure_id bigserial primary key,
            load_id uuid not null,
            source_uri text not null,
            content_id text,
            reason text not null,
            failed_at timestamptz not null default now()
        )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop table if exists ops.load_failures, ops.quarantine, raw.events, ops.load_manifest`.execute(db);
}

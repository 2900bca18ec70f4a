import { sql, type Kysely } from 'kysely';

/**
 * Builds write their tables unlogged when the server keeps no WAL for replicas (wal_level =
 * minimal, as the embedded server runs): no WAL for data that raw can rebuild. Crash recovery
 * empties unlogged tables, and this one with them: a build that finds it empty rebuilds every
 * incremental model in full instead of trusting its saved state.
 */
export async function up(db: Kysely<any>): Promise<void> {
    await sql`create unlogged table ops.build_marker (written_at timestamptz not null default now())`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop table if exists ops.build_marker`.execute(db);
}

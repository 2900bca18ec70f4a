import { sql, type Kysely } from 'kysely';

/**
 * ops.load_manifest.retried_after: why Postgres refused a file's first attempt when the file loaded
 * at its second (load-file.ts: a COPY routed with a partition list from before another load made
 * the day). The ingest line and summary said so; the manifest now keeps it, so the race is counted
 * across runs, not only seen in one run's output.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.load_manifest add column retried_after text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.load_manifest drop column retried_after`.execute(db);
}

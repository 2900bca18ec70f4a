import { sql, type Kysely } from 'kysely';

/**
 * ops.test_results.spec_hash: what the test was (its kind, columns, SQL...). A build's test of
 * models that were all up to date takes the last result of the same test, unchanged, instead of
 * reading every row again (data-tests.ts); a test whose definition changed since runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.test_results add column spec_hash text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.test_results drop column spec_hash`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * ops.dirty_days.seed: a day marked by a dated seed's change (a price fix, seeds.ts) is rebuilt
 * only by the models that read that seed; null (loads, erasures) by every incremental model. A
 * price fix then leaves the drift chain, which reads no price, alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.dirty_days add column seed text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table ops.dirty_days drop column seed`.execute(db);
}

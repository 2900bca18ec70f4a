import { Migrator, sql, type Kysely } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { UserError } from '../util/errors.js';
import { distributeSources } from './citus.js';
import { syncContractColumns } from './contract-columns.js';

export interface MigrateOutcome {
    readonly applied: readonly string[];
}

/** Brings the schema up to date; safe to call from every command (a no-op when current). */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrateOutcome> {
    // Every command migrates first. When nothing is pending (nearly always), skip the Migrator: its
    // introspection of every table can trip over a table another process is swapping in.
    const done = await sql<{ name: string }>`select name from ops.kysely_migration where to_regclass('ops.kysely_migration') is not null`
        .execute(db)
        .then((r) => new Set(r.rows.map((row) => row.name)))
        .catch(() => new Set<string>());
    if (Object.keys(migrations).every((name) => done.has(name))) {
        const added = await syncContractColumns(db);
        const citus = await distributeSources(db);
        return { applied: [...added.map((c) => `contract column ${c}`), ...citus] };
    }
    const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => ({ ...migrations }) },
        migrationTableSchema: 'ops',
    });
    await db.schema.createSchema('ops').ifNotExists().execute();
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error) {
        throw new UserError(
            `migrate: migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message ?? error}; fix the database state or the migration and rerun \`tokenmart migrate\``,
        );
    }
    const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    const added = await syncContractColumns(db);
    const citus = await distributeSources(db);
    return { applied: [...applied, ...added.map((c) => `contract column ${c}`), ...citus] };
}

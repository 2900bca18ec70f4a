import { loadConfig, type Config } from '../config/config.js';
import { closeDatabase, openDatabase, type DatabaseHandle } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';

export interface GlobalOptions {
    readonly config?: string;
}

export function configFrom(options: GlobalOptions): Config {
    return loadConfig({ configPath: options.config });
}

export const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
};

/** Opens the database (starting the embedded one if needed), migrates it, and always closes it. */
export async function usingDatabase<T>(config: Config, fn: (handle: DatabaseHandle) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
    const handle = await openDatabase(config, log);
    try {
        if (options.migrate !== false) {
            const { applied } = await migrateToLatest(handle.db);
            if (applied.length) log(`migrate: applied ${applied.join(', ')}`);
        }
        return await fn(handle);
    } finally {
        await closeDatabase(handle);
    }
}

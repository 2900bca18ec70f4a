import type { Command } from 'commander';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerMigrate(program: Command): void {
    program
        .command('migrate')
        .description('bring the database schema up to date (every command that needs it does this too)')
        .action(async () => {
            await usingDatabase(configFrom(program.opts()), async () => log('migrate: schema is up to date'));
        });
}

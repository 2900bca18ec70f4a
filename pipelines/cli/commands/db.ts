import type { Command } from 'commander';
import { redactUrl } from '../../db/connect.js';
import { embeddedOptions, embeddedUrl, ensureEmbeddedServer, stopEmbeddedServer } from '../../db/embedded-server.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerDb(program: Command): void {
    const db = program.command('db').description('manage the embedded PostgreSQL (used when DATABASE_URL is unset)');
    db.command('start')
        .description('start the embedded server (if needed), migrate, and print its connection string')
        .action(async () => {
            const config = configFrom(program.opts());
            if (config.databaseUrl) {
                log(`db: DATABASE_URL is set; tokenmart uses ${redactUrl(config.databaseUrl)} and starts no embedded server`);
                return;
            }
            await ensureEmbeddedServer(embeddedOptions(), log);
            await usingDatabase(config, async () => undefined);
            const url = embeddedUrl(embeddedOptions());
            process.stdout.write(`${url}\n`);
            log(`db: connect with: psql ${url}   (stop with: npx tokenmart db stop)`);
        });
    db.command('stop')
        .description('stop the embedded server')
        .action(async () => {
            const stopped = await stopEmbeddedServer(embeddedOptions());
            log(stopped ? 'db: embedded PostgreSQL stopped' : 'db: embedded PostgreSQL was not running');
        });
    db.command('url')
        .description('print the connection string tokenmart uses')
        .action(() => {
            const config = configFrom(program.opts());
            process.stdout.write(`${config.databaseUrl ?? embeddedUrl(embeddedOptions())}\n`);
        });
}

import type { Command } from 'commander';
import { redactUrl } from '../../db/connect.js';
import { formatStatus, readStatus } from '../../ops/status.js';
import { configFrom, usingDatabase } from '../using-database.js';

export function registerStatus(program: Command): void {
    program
        .command('status')
        .description('recent runs, loads, failures, data tests and deliveries')
        .option('--json', 'machine-readable output')
        .action(async (flags: { json?: boolean }) => {
            const status = await usingDatabase(configFrom(program.opts()), (h) => readStatus(h.db, redactUrl(h.url)));
            process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status).join('\n')}\n`);
        });
}

import type { Command } from 'commander';
import { applyRetention } from '../../ops/retention.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerRetention(program: Command): void {
    program
        .command('retention')
        .description('drop raw events and quarantined lines older than retention.rawDays (tokenmart run does it too); marts keep their history')
        .option('--raw-days <n>', 'override retention.rawDays')
        .action(async (flags: { rawDays?: string }) => {
            const config = configFrom(program.opts());
            const days = flags.rawDays === undefined ? config.retention.rawDays : Number(flags.rawDays);
            if (days === undefined)
                throw new UserError('retention: no retention.rawDays in tokenmart.config.json and no --raw-days; set one to drop raw data older than that');
            if (!Number.isInteger(days) || days < 1) throw new UserError(`retention: --raw-days "${flags.rawDays}" must be a whole number of days, 1 or more`);
            const r = await usingDatabase(config, (h) => applyRetention(h.pool, days));
            log(
                `retention: raw data before ${r.horizon} dropped: ${r.rawEvents} events, ${r.quarantinedLines} quarantined lines; marts keep their history, and builds no longer rebuild days before ${r.horizon}`,
            );
        });
}

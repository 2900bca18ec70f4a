import type { Command } from 'commander';
import { forgetSubject } from '../../ops/forget.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerForget(program: Command): void {
    program
        .command('forget')
        .description('erase a user or a tenant (GDPR art. 17): their events everywhere, marts rebuilt, future loads skip them')
        .option('--user <id>', 'the user_id as producers send it (its keyed hash is found too)')
        .option('--tenant <id>', 'the tenant as producers send it')
        .option('--dry-run', 'count what would be erased; change nothing')
        .action(async (flags: { user?: string; tenant?: string; dryRun?: boolean }) => {
            if (Boolean(flags.user) === Boolean(flags.tenant)) throw new UserError('forget: give exactly one of --user ID or --tenant ID');
            const subject = flags.user ? { kind: 'user' as const, id: flags.user } : { kind: 'tenant' as const, id: flags.tenant! };
            const config = configFrom(program.opts());
            const r = await usingDatabase(config, (h) => forgetSubject(h, config, subject, { dryRun: flags.dryRun, log }));
            const counts = Object.entries(r.rows)
                .map(([table, n]) => `${n} ${table.replace('_', ' ')}`)
                .join(', ');
            log(
                `forget: ${r.kind} ${r.subjectHash.slice(0, 12)}…: ${r.dryRun ? 'would remove' : 'removed'} ${counts}; ${r.days.length} day(s) touched${r.dryRun ? '' : `, their marts rebuilt; recorded in ops.erasures (a hash, not the id): later loads skip this ${r.kind}`}`,
            );
            for (const seed of r.seedMentions) log(`forget: ${seed} still lists this ${r.kind}: remove the line and run \`tokenmart build\``);
        });
}

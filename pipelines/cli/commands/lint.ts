import type { Command } from 'commander';
import { formatProblem, lintProject } from '../../transform/lint-models.js';
import { loadProject } from '../../transform/project.js';
import { UserError } from '../../util/errors.js';
import { log } from '../using-database.js';

export function registerLint(program: Command): void {
    program
        .command('lint')
        .description('check the SQL models against the house style (lower case, explicit joins and aliases, import CTEs, final) and their docs')
        .action(async () => {
            const project = loadProject();
            const problems = await lintProject(project);
            for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
            if (problems.length)
                throw new UserError(
                    `lint: ${problems.length} problem(s) in ${new Set(problems.map((p) => p.file)).size} model file(s) (listed above); fix them`,
                );
            log(`lint: ${project.models.length} models follow the style`);
        });
}

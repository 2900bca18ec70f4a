import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDemoLogs } from '../pipelines/demo/generate-demo-logs.js';
import { isoDay } from '../reports/period.js';
import { tempDir } from './support/event-fixtures.js';
import { copyProject, listFiles } from './support/project-copy.js';
import { projectDir } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/** The README's fenced example whose first line is `firstLine`. */
function example(readme: string, firstLine: string): string {
    const at = readme.indexOf(firstLine);
    expect(at, `README has no example starting ${firstLine}`).toBeGreaterThan(0);
    return readme.slice(at, readme.indexOf('```', at));
}

/** The registration the README shows after an example (`// file: ['a', 'b', ...]`): one new name in that file's list. */
function register(root: string, code: string): void {
    const m = /\/\/ ([\w/.-]+): \[([^\]]+)\]/.exec(code)!;
    const file = join(root, m[1]);
    const names = m[2].split(',').map((x) => x.trim());
    const text = readFileSync(file, 'utf8');
    const list = /= \[([^\]]+)\];/.exec(text)!;
    const have = list[1].split(',').map((x) => x.trim());
    const added = names.filter((n) => n !== '...' && !have.includes(n));
    expect(added).toHaveLength(1);
    const at = have.indexOf(names[names.indexOf(added[0]) - 1]) + 1;
    const next = [...have.slice(0, at), added[0], ...have.slice(at)];
    // A list on one line gets the name in that line; a list with one name per line, a line of its own.
    const updated = list[0].includes('\n')
        ? text.replace(list[0], list[0].replace(`\n    ${have[at - 1]},\n`, `\n    ${have[at - 1]},\n    ${added[0]},\n`))
        : text.replace(list[0], `= [${next.filter(Boolean).join(', ')}];`);
    // One line changed or added, nothing else.
    if (list[0].includes('\n')) {
        expect(updated.split('\n').length).toBe(text.split('\n').length + 1);
        expect(updated.replace(`\n    ${added[0]},`, '')).toBe(text);
        writeFileSync(file, updated);
        return;
    }
    expect(updated.split('\n').filter((line, i) => line !== text.split('\n')[i])).toHaveLength(1);
    writeFileSync(file, updated);
}

describe('extension points: a file and at most one line each (the README examples, run)', () => {
    const db = useTestDatabase('extension_points');

    it('a mart in a subfolder, a report section and a stage: the copy type-checks, builds, reports and records them', async () => {
        const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');
        const root = copyProject('extension');
        const before = listFiles(root);
        const mart = example(readme, '-- models/marts/finance/mart_monthly_team_cost.sql');
        const yaml = example(readme, '# models/marts/finance/_finance.yml');
        const section = example(readme, '// reports/sections/request-count.ts');
        const stage = example(readme, '// pipelines/run/stages/vacuum-stage.ts');
        mkdirSync(join(root, 'models/marts/finance'), { recursive: true });
        writeFileSync(join(root, 'models/marts/finance/mart_monthly_team_cost.sql'), mart.split('\n').slice(1).join('\n'));
        writeFileSync(join(root, 'models/marts/finance/_finance.yml'), yaml.split('\n').slice(1).join('\n'));
        writeFileSync(join(root, 'reports/sections/request-count.ts'), section.split('\n').slice(1).join('\n'));
        writeFileSync(join(root, 'pipelines/run/stages/vacuum-stage.ts'), stage.split('\n').slice(1).join('\n'));
        register(root, section);
        register(root, stage);
        const changed = [...listFiles(root)].filter(([f, text]) => before.get(f) !== text).map(([f]) => f);
        expect(changed.sort()).toEqual([
            'models/marts/finance/_finance.yml',
            'models/marts/finance/mart_monthly_team_cost.sql',
            'pipelines/run/stages.ts',
            'pipelines/run/stages/vacuum-stage.ts',
            'reports/sections/request-count.ts',
            'reports/weekly/weekly-sections.ts',
        ]);
        const tsc = spawnSync(process.execPath, [join(projectDir, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'], {
            encoding: 'utf8',
        });
        expect(tsc.status, tsc.stdout).toBe(0);

        const logs = join(tempDir('extension-logs'), 'logs');
        generateDemoLogs({ outDir: logs, endDate: isoDay(Date.now() - 86_400_000), days: 16, seed: 5, scale: 0.05 });
        const out = tempDir('extension-out');
        const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'pipelines/cli/main.ts'), 'run', '--weekly', '--source', logs], {
            cwd: root,
            encoding: 'utf8',
            env: { ...process.env, DATABASE_URL: db().url, TOKENMART_OUTPUT_DIR: out, SLACK_BOT_TOKEN: '', TOKENMART_MODELS_DIR: '' },
        });
        expect(run.status, run.stderr).toBe(0);
        const stages = await db().query('select stage, status, rows from ops.run_stages order by finished_at');
        expect(stages.map((s) => `${s.stage}:${s.status}`)).toEqual([
            'ingest:success',
            'retention:skipped',
            'build:success',
            'test:success',
            'alerts:success',
            'vacuum:success',
            'report:success',
            'notify:success',
        ]);
        const [monthly] = await db().query('select sum(cost_usd)::text as s from marts.mart_monthly_team_cost');
        const [daily] = await db().query('select sum(cost_usd)::text as s from marts.mart_daily_team_cost');
        expect(monthly.s).toBe(daily.s);
        const html = readFileSync(run.stdout.split('\n').find((l) => l.endsWith('.html'))!, 'utf8');
        const [week] = await db().query(
            "select sum(requests)::int as n from marts.mart_daily_cost where usage_date between date_trunc('week', current_date - 7)::date and date_trunc('week', current_date - 7)::date + 6",
        );
        expect(html).toContain(`<h2>Requests</h2><p>${week.n.toLocaleString('en-US')}</p>`);
    }, 180_000);
});

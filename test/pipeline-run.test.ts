import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../pipelines/config/config.js';
import { generateDemoLogs } from '../pipelines/demo/generate-demo-logs.js';
import { runPipeline } from '../pipelines/run/run-pipeline.js';
import { startScheduler } from '../pipelines/run/scheduler.js';
import { isoDay, lastCompleteWeek } from '../reports/period.js';
import { tempDir } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { projectDir, runCli, startCli, waitForStderr } from './support/run-cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { FakeSlack } from './support/fake-slack.js';
import { waitUntil } from './support/wait.js';

const require = createRequire(import.meta.url);

const yesterday = isoDay(Date.now() - 86_400_000);
const reportWeek = lastCompleteWeek().label;

/** A demo data set (small) in a directory of its own, and the env for a run on database `t`. */
function fixture(t: TestDatabase, label: string, scale = 0.1) {
    const dir = join(tempDir(label), 'logs');
    // Dates relative to today: a run checks freshness and reports the last complete week.
    generateDemoLogs({ outDir: dir, endDate: yesterday, days: 16, seed: 3, scale });
    const out = tempDir(`${label}-out`);
    const env = { DATABASE_URL: t.url, TOKENMART_SOURCE: dir, TOKENMART_OUTPUT_DIR: out, SLACK_BOT_TOKEN: '' };
    return { dir, out, env };
}

describe('tokenmart run', () => {
    let a: TestDatabase;
    beforeAll(async () => {
        a = await createTestDatabase('run_a');
    });
    afterAll(async () => {
        await a.drop();
    });

    it('two concurrent runs: one works, the other exits 0 saying another run is in progress; results exactly once', async () => {
        // Enough data that the first run still holds the lock while the second starts up.
        const { env, out } = fixture(a, 'concurrent', 0.4);
        const first = startCli(['run', '--weekly'], env);
        // Start the second once the first holds the lock (its run row exists).
        expect(await waitUntil(async () => (await a.query("select 1 from ops.runs where status = 'running'")).length > 0)).toBe(true);
        const second = await runCli(['run', '--weekly'], env);
        const firstResult = await first.done;
        expect(firstResult.code).toBe(0);
        expect(second.code, second.stderr).toBe(0);
        expect(second.stderr).toMatch(/another run is in progress \(run id [0-9a-f-]{36}, since 20\d\d-/);
        const runs = await a.query('select status from ops.runs');
        expect(runs.map((r) => r.status)).toEqual(['success']);
        const [dupes] = await a.query('select count(*) - count(distinct request_id) as d from marts.fct_requests');
        expect(Number(dupes.d)).toBe(0);
        expect(readdirSync(join(out, 'digests')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
        expect(readdirSync(out).filter((f) => f.endsWith('.pdf'))).toEqual([`weekly-${reportWeek}.pdf`]);
        const stages = await a.query('select stage, status from ops.run_stages order by finished_at');
        expect(stages.map((s) => `${s.stage}:${s.status}`)).toEqual([
            'ingest:success',
            'retention:skipped',
            'build:success',
            'test:success',
            'alerts:success',
            'report:success',
            'notify:success',
        ]);
    }, 180_000);

    it('an error-level data test failure sends no report and one failure notice', async () => {
        const t = await createTestDatabase('run_blocked');
        try {
            const { env, out } = fixture(t, 'blocked');
            const models = copyModels('blocked');
            // A data test that fails: a team with no cost center would break finance's allocation.
            const yml = join(models, 'marts', '_marts.yml');
            writeFileSync(
                yml,
                readFileSync(yml, 'utf8').replace(
                    '  - name: mart_daily_team_cost\n',
                    '  - name: mart_daily_team_cost\n    columns:\n      - name: team\n        tests: [{ accepted_values: { values: [support, search, growth] } }]\n',
                ),
            );
            const r = await runCli(['run', '--weekly'], { ...env, TOKENMART_MODELS_DIR: models });
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(/blocked: data tests failed \(accepted_values__marts_mart_daily_team_cost__team\)/);
            expect(readdirSync(out).filter((f) => f.endsWith('.pdf') || f.endsWith('.html'))).toEqual([]);
            expect(() => readdirSync(join(out, 'digests'))).toThrow();
            const alerts = readdirSync(join(out, 'alerts'));
            expect(alerts).toHaveLength(1);
            expect(JSON.parse(readFileSync(join(out, 'alerts', alerts[0]), 'utf8'))).toMatchObject({
                channel: '#data-alerts',
                text: expect.stringMatching(/data tests failed/),
            });
            const stages = await t.query('select stage, status from ops.run_stages order by finished_at');
            expect(stages.map((s) => `${s.stage}:${s.status}`)).toEqual([
                'ingest:success',
                'retention:skipped',
                'build:success',
                'test:blocked',
                'alerts:blocked',
                'report:blocked',
                'notify:blocked',
            ]);
        } finally {
            await t.drop();
        }
    }, 180_000);
});

describe('catch-up against Slack', () => {
    it('a second weekly run for a delivered week posts nothing; a missed file is loaded by the next run', async () => {
        const t = await createTestDatabase('run_catchup');
        const slack = new FakeSlack();
        await slack.start();
        try {
            const { dir, env } = fixture(t, 'catchup');
            const slackEnv = { ...env, SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url };
            const first = await runCli(['run', '--weekly'], slackEnv);
            expect(first.code).toBe(0);
            expect(slack.messages).toHaveLength(1);
            expect(slack.messages[0].text).toMatch(new RegExp(`^LLM spend week ${reportWeek}: \\$`));
            expect(slack.messages[0].threadFiles.map((f) => f.title)).toEqual(['Daily spend, last 14 days', `Weekly LLM spend report ${reportWeek}`]);
            // A file that arrived after the first run (a missed schedule): the next run loads it.
            writeFileSync(
                join(dir, 'late-extra.jsonl'),
                `${JSON.stringify({
                    schema_version: 2,
                    request_id: 'catchup_late',
                    timestamp: `${yesterday}T12:00:00Z`,
                    provider: 'openai',
                    model: 'gpt-4o',
                    input_tokens: 1000,
                    output_tokens: 10,
                    status: 'ok',
                    feature: 'support-chat',
                })}\n`,
            );
            const second = await runCli(['run', '--weekly'], slackEnv);
            expect(second.code).toBe(0);
            expect(second.stderr).toMatch(/run: stage ingest success \(1 files loaded/);
            expect(second.stderr).toMatch(/already_delivered/);
            expect(slack.messages).toHaveLength(1);
            const [late] = await t.query("select usage_date::text as d from marts.fct_requests where request_id = 'catchup_late'");
            expect(late.d).toBe(yesterday);
            const status = await runCli(['status', '--json'], slackEnv);
            expect(status.code).toBe(0);
            const st = JSON.parse(status.stdout) as {
                runs: { status: string }[];
                deliveries: { status: string; digest_id: string }[];
                loads: { failures_7d: number };
            };
            expect(st.runs.map((r) => r.status)).toEqual(['success', 'success']);
            expect(st.deliveries).toEqual([expect.objectContaining({ status: 'complete', digest_id: `weekly:${reportWeek}:all:#llm-spend` })]);
            expect(st.loads.failures_7d).toBe(0);
        } finally {
            await slack.stop();
            await t.drop();
        }
    }, 180_000);
});

describe('graceful stop', () => {
    it('a shutdown request abandons the run between stages, without a failure notice', async () => {
        const t = await createTestDatabase('run_stop');
        try {
            const { dir, out } = fixture(t, 'stop');
            const config = { ...loadConfig({ env: { DATABASE_URL: t.url }, cwd: '/nonexistent' }), outputDir: out };
            let checks = 0;
            const outcome = await runPipeline(t.handle, config, { kind: 'daily', source: dir, log: () => undefined, shouldStop: () => ++checks > 3 });
            expect(outcome.status).toBe('failed');
            expect((outcome as { message: string }).message).toMatch(/stopped before stage test \(shutdown requested\)/);
            const [run] = await t.query('select status from ops.runs');
            expect(run.status).toBe('abandoned');
            const stages = await t.query('select stage, status from ops.run_stages order by finished_at, stage');
            expect(stages.filter((s) => s.status === 'success').map((s) => s.stage)).toEqual(['ingest', 'build']);
            expect(() => readdirSync(join(out, 'alerts'))).toThrow();
        } finally {
            await t.drop();
        }
    }, 120_000);
});

describe('tokenmart schedule', () => {
    it('fires on the cron times of its time zone and never overlaps (fake clock)', async () => {
        // 2026-11-24 09:59:59.200 in UTC, which is 10:59:59.200 in Europe/Berlin: the job is due at
        // 11:00:00 Berlin time on the hour ("0 11 * * *") and every 2 s after ("*/2 * 11 * * *").
        vi.useFakeTimers({ now: new Date('2026-11-24T09:59:59.200Z') });
        try {
            let active = 0;
            let maxActive = 0;
            const started: string[] = [];
            const lines: string[] = [];
            const scheduler = startScheduler(
                [
                    {
                        name: 'every-2s',
                        expression: '*/2 * 11 * * *',
                        run: async () => {
                            active++;
                            maxActive = Math.max(maxActive, active);
                            started.push(new Date().toISOString());
                            await new Promise((r) => setTimeout(r, 3000)); // longer than the interval
                            active--;
                            return 'ok';
                        },
                    },
                ],
                'Europe/Berlin',
                (l) => lines.push(l),
            );
            await vi.advanceTimersByTimeAsync(7_000); // to 10:00:06.200 UTC
            const stopped = scheduler.stop();
            await vi.advanceTimersByTimeAsync(3_000); // let the run in flight finish
            await stopped;
            // Due at :00, :02, :04, :06. Each run takes 3 s: :00 runs (to :03), :02 is skipped, :04 runs (to :07), :06 is skipped.
            expect(started).toEqual(['2026-11-24T10:00:00.000Z', '2026-11-24T10:00:04.000Z']);
            expect(maxActive).toBe(1);
            // One line per run as it ends, and one per skipped tick as it happens.
            expect(lines).toEqual([
                'schedule: every-2s skipped at 2026-11-24T10:00:02.000Z: another job is still running',
                'schedule: every-2s at 2026-11-24T10:00:00.000Z: ok (3.0 s)',
                'schedule: every-2s skipped at 2026-11-24T10:00:06.000Z: another job is still running',
                'schedule: every-2s at 2026-11-24T10:00:04.000Z: ok (3.0 s)',
            ]);
        } finally {
            vi.useRealTimers();
        }
    });

    it('rejects an invalid cron expression naming the key', () => {
        expect(() => startScheduler([{ name: 'daily', expression: 'every morning', run: async () => 'x' }], 'UTC', () => undefined)).toThrow(
            /schedules\.daily/,
        );
    });

    it('stops on SIGTERM with one line', async () => {
        const { child, done } = startCli(['schedule'], { DATABASE_URL: 'postgres://unused@127.0.0.1:9/none' });
        await waitForStderr(child, /SIGTERM or Ctrl-C to stop/);
        child.kill('SIGTERM');
        const r = await done;
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(/schedule: daily "0 6 \* \* \*", weekly "0 7 \* \* 1" \(UTC\)/);
        expect(r.stderr).toMatch(/schedule: SIGTERM: stopping\n[\s\S]*schedule: stopped/);
    });
});

describe('configuration and workflows', () => {
    it('a bad config key is one message naming the key and the fix', () => {
        const dir = tempDir('config');
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ ingest: { maxErrorRate: 7 } }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/key "ingest.maxErrorRate" must be a number from 0 to 1/);
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ sorce: 's3://x' }));
        expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/key "sorce" is not a known key/);
        writeFileSync(join(dir, 'tokenmart.config.json'), JSON.stringify({ source: 's3://logs/usage/', slack: { channel: '#finops' } }));
        expect(() => loadConfig({ cwd: dir, env: { TOKENMART_TIMEZONE: 'Mars/Base' } })).toThrow(/timezone.*not an IANA time zone/);
        const c = loadConfig({ cwd: dir, env: { SLACK_BOT_TOKEN: 'xoxb-1', DATABASE_URL: 'postgres://x' } });
        expect(c).toMatchObject({
            source: 's3://logs/usage/',
            slack: { channel: '#finops', token: 'xoxb-1' },
            databaseUrl: 'postgres://x',
            schedules: { daily: '0 6 * * *', weekly: '0 7 * * 1' },
        });
    });

    it('the workflow files validate against the GitHub workflow schema and run commands that exist', () => {
        const { validateWorkflow } = require('@action-validator/core') as { validateWorkflow: (src: string) => { errors: unknown[] } };
        const scripts = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')).scripts as Record<string, string>;
        const dir = join(projectDir, '.github', 'workflows');
        const files = readdirSync(dir);
        expect(files.sort()).toEqual(['ci.yml', 'pipeline.yml']);
        const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');
        for (const f of files) {
            const src = readFileSync(join(dir, f), 'utf8');
            expect(validateWorkflow(src).errors, f).toEqual([]);
            const doc = parseYaml(src) as { jobs: Record<string, { steps: { run?: string }[] }> };
            for (const step of Object.values(doc.jobs).flatMap((j) => j.steps)) {
                for (const m of (step.run ?? '').matchAll(/npm (?:run )?([\w:-]+)/g)) {
                    const script = m[1] === 'test' ? 'test' : m[1];
                    expect(scripts[script], `${f}: npm ${m[0]}`).toBeDefined();
                }
            }
        }
        const ci = readFileSync(join(dir, 'ci.yml'), 'utf8');
        expect(ci).toContain('run: npm run setup');
        expect(ci).toContain('run: npm test');
        expect(readme).toContain('npm run setup && npm test');
        expect(readFileSync(join(projectDir, '.ci', 'run'), 'utf8')).toMatch(/npm run setup\nnpm test/);
    });
});

import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateDemoLogs } from '../pipelines/demo/generate-demo-logs.js';
import { isoDay } from '../reports/period.js';
import { tempDir } from './support/event-fixtures.js';
import { FakeSlack } from './support/fake-slack.js';
import { runCli, startCli, waitForStderr } from './support/run-cli.js';
import { createTestDatabase, martFingerprint, type TestDatabase } from './support/test-database.js';

const STAGES = ['ingest', 'build', 'test', 'report', 'notify'];

/**
 * A weekly run killed (SIGKILL) as each stage starts, then rerun, must leave what one clean run of
 * the same data leaves: the same marts, and one digest in Slack with the same text. Each kill has
 * its own database and Slack; the clean baseline is computed here, not taken from another test.
 */
describe('a run killed at the start of each stage, then rerun', () => {
    const logs = join(tempDir('kill-logs'), 'logs');
    generateDemoLogs({ outDir: logs, endDate: isoDay(Date.now() - 86_400_000), days: 16, seed: 11, scale: 0.1 });
    let slack: FakeSlack;
    const envFor = (t: TestDatabase) => ({
        DATABASE_URL: t.url,
        TOKENMART_SOURCE: logs,
        TOKENMART_OUTPUT_DIR: tempDir('kill-out'),
        SLACK_BOT_TOKEN: slack.token,
        SLACK_API_URL: slack.url,
    });
    let baseline: { marts: Record<string, string>; text: string };

    beforeEach(async () => {
        slack = new FakeSlack();
        await slack.start();
    });
    afterEach(async () => {
        await slack.stop();
    });

    beforeAll(async () => {
        const clean = await createTestDatabase('kill_baseline');
        const peer = new FakeSlack();
        await peer.start();
        try {
            const env = {
                DATABASE_URL: clean.url,
                TOKENMART_SOURCE: logs,
                TOKENMART_OUTPUT_DIR: tempDir('kill-out'),
                SLACK_BOT_TOKEN: peer.token,
                SLACK_API_URL: peer.url,
            };
            const run = await runCli(['run', '--weekly'], env);
            expect(run.code, run.stderr).toBe(0);
            expect(peer.messages).toHaveLength(1);
            baseline = { marts: await martFingerprint(clean), text: peer.messages[0].text };
        } finally {
            await peer.stop();
            await clean.drop();
        }
    }, 120_000);

    for (const stage of STAGES) {
        it(`killed as stage ${stage} starts: the rerun leaves the clean run's marts and exactly one digest`, async () => {
            const t = await createTestDatabase(`kill_${stage}`);
            try {
                const env = envFor(t);
                const { child, done } = startCli(['run', '--weekly'], env);
                await waitForStderr(child, new RegExp(`run: stage ${stage} started`));
                child.kill('SIGKILL');
                expect((await done).signal).toBe('SIGKILL');
                const rerun = await runCli(['run', '--weekly'], env);
                expect(rerun.code, rerun.stderr).toBe(0);
                expect(await martFingerprint(t)).toEqual(baseline.marts);
                expect(slack.messages.map((m) => m.text)).toEqual([baseline.text]);
                expect(slack.messages[0].threadFiles.map((f) => f.title)).toEqual(expect.arrayContaining([expect.stringMatching(/^Weekly LLM spend report/)]));
                const runs = await t.query('select status from ops.runs order by started_at');
                expect(runs.map((r) => r.status)).toEqual(['abandoned', 'success']);
                const [d] = await t.query("select count(*)::int as n, count(*) filter (where status = 'complete')::int as complete from ops.deliveries");
                expect(d).toEqual({ n: 1, complete: 1 });
            } finally {
                await t.drop();
            }
        }, 120_000);
    }
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { createSlackClient } from '../reports/digest/slack.js';
import { sendDigests } from '../reports/digest/send-digests.js';
import { dailyPeriod, isoWeekOf } from '../reports/period.js';
import { usingBrowser } from '../reports/render/browser.js';
import { writeWeeklyReport } from '../reports/weekly/weekly-report.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { FakeSlack } from './support/fake-slack.js';
import { useTestDatabase } from './support/test-database.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/hostile/values.json', import.meta.url), 'utf8')) as {
    values: string[];
    repeat: { char: string; times: number }[];
};
const hostile = [...fixture.values, ...fixture.repeat.map((r) => r.char.repeat(r.times))];

describe('no single value can jam the pipeline or speak in a report', () => {
    const db = useTestDatabase('hostile');

    it(`${hostile.length} hostile values in every dimension, plus lines Postgres or a stack could not take: load, build, PDF and digests all succeed, escaped`, async () => {
        const day = '2026-11-18';
        const dir = tempDir('hostile');
        const lines = hostile.map((v, i) =>
            JSON.stringify(
                event(i, {
                    request_id: `hostile_${i}`,
                    timestamp: `${day}T10:${String(i % 60).padStart(2, '0')}:00Z`,
                    team: v,
                    feature: v,
                    tenant: v,
                    model: v || 'empty',
                    prompt_version: v,
                    environment: v,
                    status: 'error',
                    error_type: v,
                    tags: { [v.slice(0, 100)]: v },
                    stages: [{ name: v.slice(0, 100), duration_ms: 1 }],
                }),
            ),
        );
        let deep = '1';
        for (let i = 0; i < 2000; i++) deep = `{"a":${deep}}`;
        const raw = (extra: string) =>
            `{"schema_version":1,"request_id":"x","timestamp":"${day}T10:00:00Z","provider":"openai","model":"gpt-4o","input_tokens":1,"output_tokens":1,"status":"ok",${extra}}`;
        lines.push(raw(`"tags":${deep}`), raw('"team":"nul\\u0000byte"'), raw('"team":"lone \\ud800 surrogate"'));
        writeLog(dir, 'hostile.jsonl', jsonl(lines));
        const s = await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 1, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect(s.files[0].status).toBe('loaded');
        expect(s.rowsLoaded).toBe(hostile.length);
        expect(s.rowsQuarantined).toBe(3);
        const reasons = await db().query('select reason from ops.quarantine order by line_no');
        expect(reasons.map((r) => r.reason)).toEqual([
            'nested deeper than 64 levels',
            'a string contains a NUL character (\\u0000), which Postgres cannot store',
            'a string contains an unpaired UTF-16 surrogate, which UTF-8 cannot hold',
        ]);
        // The two long values were cut to 200 characters, in each of the seven dimensions that hold them.
        expect(s.valuesCut).toBe(2 * 7);
        const [longest] = await db().query("select max(length(team))::int as n from raw.events where request_id like 'hostile_%'");
        expect(longest.n).toBe(200);

        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.results.filter((r) => r.status !== 'success').map((r) => `${r.id}: ${r.error}`)).toEqual([]);

        const out = tempDir('hostile-out');
        const report = await usingBrowser((b) => writeWeeklyReport(db().handle.db, isoWeekOf(day), out, b));
        const html = readFileSync(report.htmlPath, 'utf8');
        // Markup from data is text, never markup.
        expect(html).not.toMatch(/<script|<img|<svg onload|<!channel>/i);
        expect(html).toContain('&lt;script&gt;alert');
        const pdf = execFileSync('pdftotext', ['-layout', report.pdfPath!, '-'], { encoding: 'utf8' });
        expect(pdf).toContain("<script>alert('x')</script>"); // shown as the text it is
        expect(Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [report.pdfPath!], { encoding: 'utf8' }))![1])).toBeGreaterThanOrEqual(2);

        const slack = new FakeSlack();
        await slack.start();
        try {
            const sent = await sendDigests(db().handle.pool, db().handle.db, {
                period: dailyPeriod(day),
                targets: [{ channel: '#llm-spend' }, { channel: '#support-llm-spend', team: '<!channel> budget blown' }],
                client: createSlackClient(slack.token, slack.url),
                outDir: out,
                log: () => undefined,
            });
            expect(sent.map((x) => x.outcome.status)).toEqual(['delivered', 'delivered']);
            // Slack acts on mentions, broadcasts and links in mrkdwn and in the notification text (not in
            // plain_text, which it shows as is): none may come from data.
            const mrkdwnTexts: string[] = [];
            const collect = (node: unknown): void => {
                if (Array.isArray(node)) node.forEach(collect);
                else if (node && typeof node === 'object') {
                    const o = node as Record<string, unknown>;
                    if (o.type === 'mrkdwn' && typeof o.text === 'string') mrkdwnTexts.push(o.text);
                    Object.values(o).forEach(collect);
                }
            };
            for (const m of slack.messages) {
                mrkdwnTexts.push(m.text);
                collect(m.blocks);
            }
            const posted = mrkdwnTexts.join('\n');
            expect(posted).not.toMatch(/<!channel>|<!here>|<!everyone>|<https:\/\/evil|<@U012AB3CD>/);
            expect(posted).toContain('&lt;!channel&gt; budget blown');
            expect(slack.messages[1].blocks[0]).toEqual({
                type: 'header',
                text: { type: 'plain_text', text: 'LLM spend 2026-11-18 · <!channel> budget blown' },
            });
        } finally {
            await slack.stop();
        }
    }, 120_000);
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../pipelines/db/database.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendDigests, teamTargets } from '../reports/digest/send-digests.js';
import { createSlackClient } from '../reports/digest/slack.js';
import { dailyPeriod, parseIsoWeek, weeklyPeriod } from '../reports/period.js';
import { buildDemoMarts } from './support/demo-marts.js';
import { tempDir } from './support/event-fixtures.js';
import { FakeSlack } from './support/fake-slack.js';
import { runCli } from './support/run-cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

let t: TestDatabase;
let db: Kysely<DB>;
let slack: FakeSlack;
const out = tempDir('digest');
const pdfPath = join(out, 'weekly-2026-W47.pdf');

beforeAll(async () => {
    t = await createTestDatabase('digest');
    db = t.handle.db;
    await buildDemoMarts(t);
    writeFileSync(pdfPath, Buffer.from('%PDF-1.4 fixture report'));
}, 120_000);
afterAll(async () => {
    await t.drop();
});
beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    await t.query('delete from ops.deliveries');
});
afterEach(async () => {
    await slack.stop();
});

const send = (period = dailyPeriod('2026-11-22'), opts: { pdf?: boolean; token?: string; log?: (l: string) => void } = {}) =>
    sendDigests(t.handle.pool, db, {
        period,
        targets: [{ channel: '#llm-spend' }],
        client: createSlackClient(opts.token ?? slack.token, slack.url),
        outDir: out,
        pdfPath: opts.pdf ? pdfPath : undefined,
        log: opts.log ?? (() => undefined),
    });

describe('digest: exactly once against a Slack Web API peer', () => {
    it('posts one message with the figures, the chart (and the PDF, weekly) in its thread; a rerun posts nothing', async () => {
        const [first] = await send(weeklyPeriod(parseIsoWeek('2026-W47')), { pdf: true });
        expect(first.outcome.status).toBe('delivered');
        expect(slack.messages).toHaveLength(1);
        const msg = slack.messages[0];
        const [k] = await t.query(
            `select sum(cost_usd) as s, sum(requests)::int as n from marts.mart_daily_cost where usage_date between '2026-11-16' and '2026-11-22'`,
        );
        const spend = `$${Number(k.s).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
        expect(msg.text).toContain(`LLM spend week 2026-W47: ${spend}`);
        expect(msg.text).toContain(`${k.n.toLocaleString('en-US')} requests`);
        expect(msg.blocks[0]).toMatchObject({ type: 'header' });
        expect(msg.metadata).toEqual({ event_type: 'tokenmart_digest', event_payload: { digest_id: 'weekly:2026-W47:all:#llm-spend' } });
        expect(msg.threadFiles.map((f) => f.title)).toEqual(['Daily spend, last 14 days', 'Weekly LLM spend report 2026-W47']);
        expect(msg.threadFiles[0].bytes).toBeGreaterThan(5_000);
        const [again] = await send(weeklyPeriod(parseIsoWeek('2026-W47')), { pdf: true });
        expect(again.outcome.status).toBe('already_delivered');
        expect(slack.messages).toHaveLength(1);
        const [row] = await t.query(`select status, message_ts, files_uploaded from ops.deliveries`);
        expect(row).toEqual({ status: 'complete', message_ts: msg.ts, files_uploaded: true });
    });

    it('honours HTTP 429 Retry-After and then posts once', async () => {
        slack.rateLimitNext.set('chat.postMessage', 1); // the peer answers 429 with Retry-After: 1
        const lines: string[] = [];
        const [r] = await send(undefined, { log: (l) => lines.push(l) });
        expect(r.outcome.status).toBe('delivered');
        expect(lines).toContain('digest: Slack rate limit, waiting 1 s');
        expect(slack.messages).toHaveLength(1);
        expect(slack.calls.filter((c) => c === 'chat.postMessage')).toHaveLength(2);
    });

    it('a lost response is resolved by looking in Slack, not by posting again', async () => {
        slack.dropResponseNext.add('chat.postMessage');
        const [r] = await send();
        expect(r.outcome).toMatchObject({ status: 'delivered', recovered: true });
        expect(slack.messages).toHaveLength(1);
        const [again] = await send();
        expect(again.outcome.status).toBe('already_delivered');
        expect(slack.messages).toHaveLength(1);
    });

    it('a run that died after claiming is followed by a rerun that finds the message and does not repost', async () => {
        await send();
        // As if the first run posted but died before recording the ts.
        await t.query(`update ops.deliveries set status = 'claimed', message_ts = null, files_uploaded = false, claimed_at = now() - interval '2 minutes'`);
        const [r] = await send();
        expect(r.outcome).toMatchObject({ status: 'delivered', recovered: true });
        expect(slack.messages).toHaveLength(1);
        expect(slack.messages[0].threadFiles).toHaveLength(2); // the chart, uploaded by each run into the same thread
    });

    it('a failed file upload is retried alone: no second message', async () => {
        slack.failUploads = 1;
        const [r] = await send(weeklyPeriod(parseIsoWeek('2026-W47')), { pdf: true });
        expect(r.outcome).toMatchObject({ status: 'failed', posted: true });
        expect(slack.messages).toHaveLength(1);
        expect(slack.messages[0].threadFiles).toHaveLength(0);
        const [row] = await t.query(`select status from ops.deliveries`);
        expect(row.status).toBe('posted');
        const [retry] = await send(weeklyPeriod(parseIsoWeek('2026-W47')), { pdf: true });
        expect(retry.outcome.status).toBe('delivered');
        expect(slack.messages).toHaveLength(1);
        expect(slack.messages[0].threadFiles).toHaveLength(2);
    });

    it('Slack errors are one line with the fix, and nothing is marked delivered', async () => {
        const [auth] = await send(dailyPeriod('2026-11-22'), { token: 'xoxb-wrong' });
        expect(auth.outcome).toMatchObject({
            status: 'failed',
            error: expect.stringMatching(/^Slack rejected the token \(invalid_auth\); set SLACK_BOT_TOKEN/),
        });
        slack.errorNext.set('chat.postMessage', 'not_in_channel');
        const [nic] = await send();
        expect(nic.outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(/not in #llm-spend \(not_in_channel\); invite it/) });
        const [row] = await t.query(`select status from ops.deliveries`);
        expect(row.status).toBe('failed');
        expect(slack.messages).toHaveLength(0);
        const [ok] = await send();
        expect(ok.outcome.status).toBe('delivered');
        expect(slack.messages).toHaveLength(1);
    });

    it("routes per-team digests to team channels (teams seed, overridden by config) with only that team's numbers", async () => {
        const targets = [{ channel: '#llm-spend' }, ...(await teamTargets(t.handle.pool, { search: 'C0SEARCH' }))];
        expect(targets).toEqual([
            { channel: '#llm-spend' },
            { team: 'platform', channel: '#platform-llm-spend' },
            { team: 'search', channel: 'C0SEARCH' },
            { team: 'support', channel: '#support-llm-spend' },
        ]);
        const sent = await sendDigests(t.handle.pool, db, {
            period: dailyPeriod('2026-11-22'),
            targets,
            client: createSlackClient(slack.token, slack.url),
            outDir: out,
            log: () => undefined,
        });
        expect(sent.map((s) => s.outcome.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
        const byChannel = Object.fromEntries(slack.messages.map((m) => [m.channel, m.text]));
        // Every team's own figure, and the total, each from SQL (formatted by Intl, not by the digest's formatter).
        const spend = await t.query(
            `select coalesce(team, 'all') as team, round(sum(cost_usd), 2)::text as s, sum(requests)::int as n
             from marts.mart_daily_cost where usage_date = '2026-11-22' group by rollup (team)`,
        );
        const usd = (x: string) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(x));
        const of = (team: string) => spend.find((r) => r.team === team)!;
        for (const [channel, team] of [
            ['C0SUPPORT', 'support'],
            ['C0SEARCH', 'search'],
            ['C0PLATFORM', 'platform'],
        ]) {
            expect(byChannel[channel]).toMatch(
                new RegExp(`^LLM spend 2026-11-22 · ${team}: ${usd(of(team).s).replace('$', '\\$')} \\(.*\\), ${of(team).n.toLocaleString('en-US')} requests$`),
            );
        }
        expect(byChannel.C0SPEND).toMatch(
            new RegExp(`^LLM spend 2026-11-22: ${usd(of('all').s).replace('$', '\\$')} \\(.*\\), ${of('all').n.toLocaleString('en-US')} requests$`),
        );
    });

    it('the CLI posts through SLACK_API_URL, exits 1 on channel_not_found, and writes a dry-run payload without a token', async () => {
        const env = { DATABASE_URL: t.url, SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url, TOKENMART_OUTPUT_DIR: out };
        const bad = await runCli(['digest', 'daily', '--day', '2026-11-21', '--channel', '#nope'], env);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/^tokenmart: digest: 1 of 1 digest\(s\) not delivered: Slack channel #nope not found \(channel_not_found\)/m);
        const good = await runCli(['digest', 'daily', '--day', '2026-11-21'], env);
        expect(good.code).toBe(0);
        expect(slack.messages).toHaveLength(1);
        const dry = await runCli(['digest', 'daily', '--day', '2026-11-21', '--dry-run'], env);
        expect(dry.code).toBe(0);
        const payloadPath = /dry run: daily:2026-11-21:all:#llm-spend -> (.*\.json)/.exec(dry.stderr)![1];
        expect(slack.messages).toHaveLength(1);
        // The payload is exactly what would have been posted: the same text and blocks as the real post.
        const payload = JSON.parse(readFileSync(payloadPath, 'utf8'));
        expect(payload).toMatchObject({
            method: 'chat.postMessage',
            channel: '#llm-spend',
            text: slack.messages[0].text,
            blocks: slack.messages[0].blocks,
            metadata: { event_type: 'tokenmart_digest', event_payload: { digest_id: 'daily:2026-11-21:all:#llm-spend' } },
        });
        const [day] = await t.query(`select round(sum(cost_usd), 2)::text as s from marts.mart_daily_cost where usage_date = '2026-11-21'`);
        expect(payload.text).toMatch(
            new RegExp(
                `^LLM spend 2026-11-21: ${new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(day.s)).replace('$', '\\$')} `,
            ),
        );
        expect(payload.thread_files).toEqual([expect.objectContaining({ filename: 'spend-2026-11-21.png', title: 'Daily spend, last 14 days' })]);
        const png = readFileSync(payload.thread_files[0].saved_as);
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(png.length).toBe(payload.thread_files[0].bytes);
    });
});

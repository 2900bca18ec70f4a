import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays, isoDay } from '../reports/period.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { runCli } from './support/run-cli.js';
import { martFingerprint, type TestDatabase, useTestDatabase } from './support/test-database.js';

const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03'];
const USERS = ['alice', 'bob', 'carol', 'dave'];

/** 48 events: every user on every day, four an hour; alice's are 12 of them. */
function events(withAlice: boolean): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    let n = 0;
    for (const day of DAYS) {
        for (const user of USERS) {
            for (let k = 0; k < 4; k++, n++) {
                if (user === 'alice' && !withAlice) continue;
                out.push(
                    event(n, {
                        request_id: `e_${n}`,
                        user_id: user,
                        session_id: `s_${user}`,
                        tenant: user === 'bob' ? 'globex' : 'acme',
                        timestamp: `${day}T1${k}:00:00Z`,
                        feedback: k % 2 ? 1 : -1,
                    }),
                );
            }
        }
    }
    return out;
}

async function counts(t: TestDatabase, column: string, value: string) {
    const q = async (sql: string) => (await t.query(sql, [value]))[0].n as number;
    return {
        raw: await q(`select count(*)::int as n from raw.events where ${column} = $1`),
        quarantine: await q(`select count(*)::int as n from ops.quarantine where line_text like '%"${column}":"' || $1 || '"%'`),
        staging: await q(`select count(*)::int as n from staging.stg_events where ${column} = $1`),
        fact: await q(`select count(*)::int as n from marts.fct_requests where ${column} = $1`),
    };
}

describe('erasure (GDPR art. 17): tokenmart forget', () => {
    const a = useTestDatabase('forget_a');
    const b = useTestDatabase('forget_b');

    it('removes a user everywhere, rebuilds the marts as if they had never been there, and a reload cannot bring them back', async () => {
        const dir = tempDir('forget');
        const file = writeLog(dir, 'day.jsonl', jsonl(events(true)));
        // Alice also in a replayed duplicate (another file) and in two lines the contract refuses.
        writeLog(dir, 'replay.jsonl', jsonl([events(true).find((e) => e.user_id === 'alice')!]));
        writeLog(
            dir,
            'bad.jsonl',
            jsonl([
                { ...events(true)[0], request_id: 'bad_1', output_tokens: -1 },
                { ...events(true)[0], request_id: 'bad_2', input_tokens: 'x' },
                ...events(true).slice(4, 30),
            ]),
        );
        const env = { DATABASE_URL: a().url, SLACK_BOT_TOKEN: '' };
        expect((await runCli(['ingest', dir, '--max-error-rate', '0.5'], env)).code).toBe(0);
        expect((await runCli(['build'], env)).code).toBe(0);
        // Raw: 12 in day.jsonl, 1 replayed, and 4 among bad.jsonl's good lines (events 16-19, day 2's);
        // staging and the fact hold each request once: 12.
        const before = await counts(a(), 'user_id', 'alice');
        expect(before).toEqual({ raw: 12 + 1 + 4, quarantine: 2, staging: 12, fact: 12 });

        const dry = await runCli(['forget', '--user', 'alice', '--dry-run'], env);
        expect(dry.stderr).toMatch(/forget: user dabd1db8d35a…: would remove 17 raw events, 2 quarantine, 12 stg events, 12 fct requests; 3 day\(s\) touched/);
        expect(await counts(a(), 'user_id', 'alice')).toEqual(before);
        const forgot = await runCli(['forget', '--user', 'alice'], env);
        expect(forgot.code, forgot.stderr).toBe(0);
        expect(await counts(a(), 'user_id', 'alice')).toEqual({ raw: 0, quarantine: 0, staging: 0, fact: 0 });
        // sha256("user:alice") (printf user:alice | sha256sum), never the id.
        const erasures = await a().query('select subject_kind, subject_hash, rows_removed, days_touched::text[] as days from ops.erasures');
        expect(erasures).toEqual([
            {
                subject_kind: 'user',
                subject_hash: 'dabd1db8d35ab13106274f61f1bf977812cce4f477b15014cf38fb796c50a4c4',
                rows_removed: { raw_events: 17, quarantine: 2, stg_events: 12, fct_requests: 12, test_samples: 0 },
                days: DAYS,
            },
        ]);
        expect(JSON.stringify(await a().query('select * from ops.erasures'))).not.toContain('alice');

        // The same data without alice, built from scratch: the marts are identical.
        const dirB = tempDir('forget-b');
        writeLog(dirB, 'day.jsonl', jsonl(events(false)));
        writeLog(
            dirB,
            'bad.jsonl',
            jsonl(
                events(true)
                    .slice(4, 30)
                    .filter((e) => e.user_id !== 'alice'),
            ),
        );
        const envB = { DATABASE_URL: b().url };
        expect((await runCli(['ingest', dirB], envB)).code).toBe(0);
        expect((await runCli(['build'], envB)).code).toBe(0);
        expect(await martFingerprint(a(), { withoutLineage: true })).toEqual(await martFingerprint(b(), { withoutLineage: true }));

        // A corrected file replaces the old one (48 events and erin's): alice's 12 in it are not loaded again.
        writeFileSync(file, jsonl([...events(true), event(999, { request_id: 'e_999', user_id: 'erin', timestamp: '2026-11-03T20:00:00Z' })]));
        const reload = await runCli(['ingest', dir, '--on-changed', 'replace', '--max-error-rate', '0.5'], env);
        expect(reload.code, reload.stderr).toBe(0);
        expect(reload.stderr).toMatch(/37 loaded \+ 0 quarantined \+ 0 blank \+ 12 of erased users\/tenants \(not loaded\) = 49 records in 49 lines/);
        expect((await counts(a(), 'user_id', 'alice')).raw).toBe(0);
        const [m] = await a().query("select rows_forgotten from ops.load_manifest where source_uri like '%/day.jsonl' and status = 'loaded'");
        expect(m.rows_forgotten).toBe(12);
    }, 120_000);

    it('a tenant, and a user whose id is stored as its keyed hash', async () => {
        const t = a();
        const env = { DATABASE_URL: t.url, TOKENMART_USER_ID_HMAC_KEY: 'secret-key' };
        const dir = tempDir('forget-hmac');
        writeLog(
            dir,
            'k.jsonl',
            jsonl([event(1, { request_id: 'k_1', user_id: 'zoe', tenant: 'initech' }), event(2, { request_id: 'k_2', user_id: 'yan', tenant: 'initech' })]),
        );
        expect((await runCli(['ingest', dir], env)).code).toBe(0);
        // HMAC-SHA256("secret-key", "zoe"), first 32 hex digits (openssl dgst -sha256 -hmac secret-key)
        const hashed = (await t.query("select user_id from raw.events where request_id = 'k_1'"))[0].user_id;
        expect(hashed).toMatch(/^u_[0-9a-f]{32}$/);
        expect((await runCli(['forget', '--user', 'zoe'], env)).stderr).toMatch(/removed 1 raw events/);
        expect(await t.query("select request_id from raw.events where request_id like 'k_%'")).toEqual([{ request_id: 'k_2' }]);
        expect((await runCli(['forget', '--tenant', 'initech'], env)).stderr).toMatch(/forget: tenant [0-9a-f]{12}…: removed 1 raw events/);
        expect(await t.query("select request_id from raw.events where request_id like 'k_%'")).toEqual([]);
        expect((await runCli(['forget', '--user', 'x', '--tenant', 'y'], env)).stderr).toMatch(
            /^tokenmart: forget: give exactly one of --user ID or --tenant ID$/m,
        );
    }, 60_000);
});

describe('retention: retention.rawDays', () => {
    const db = useTestDatabase('retention');

    it('drops raw and quarantine before the horizon, keeps the marts, re-prices only after it, and refuses older late data', async () => {
        const today = isoDay(Date.now());
        const days = Array.from({ length: 20 }, (_, i) => addDays(today, -20 + i));
        const horizon = addDays(today, -10);
        const dir = tempDir('retention');
        writeLog(
            dir,
            'all.jsonl',
            jsonl(
                days.flatMap((day, d) =>
                    [0, 1, 2].map((k) =>
                        event(d * 3 + k, {
                            request_id: `r_${d}_${k}`,
                            timestamp: `${day}T10:0${k}:00Z`,
                            model: 'gpt-4o-mini',
                            input_tokens: 1_000_000,
                            output_tokens: 0,
                        }),
                    ),
                ),
            ),
        );
        writeLog(dir, 'bad.jsonl', jsonl(['nope', JSON.stringify(event(1, { request_id: 'ok_1', timestamp: `${today}T00:00:00Z` }))]));
        const models = copyModels('retention');
        const env = { DATABASE_URL: db().url, TOKENMART_MODELS_DIR: models };
        expect((await runCli(['ingest', dir, '--max-error-rate', '0.5'], env)).code).toBe(0);
        expect((await runCli(['build'], env)).code).toBe(0);
        const cost = async () =>
            Object.fromEntries(
                (await db().query('select usage_date::text as d, cost_usd::text as c from marts.mart_daily_cost order by 1')).map((r) => [r.d, Number(r.c)]),
            );
        const before = await cost();
        expect(Object.keys(before)).toHaveLength(21); // 20 days + today
        // gpt-4o-mini: 3 x 1,000,000 input tokens x 0.15 per million = 0.45 a day
        expect(before[days[0]]).toBe(0.45);

        await db().query("update ops.quarantine set quarantined_at = now() - interval '30 days'"); // an old quarantined line
        const r = await runCli(['retention', '--raw-days', '10'], env);
        expect(r.stderr).toContain(`retention: raw data before ${horizon} dropped: 30 events, 1 quarantined lines`);
        const [raw] = await db().query("select min((event_at at time zone 'UTC')::date)::text as first, count(*)::int as n from raw.events");
        expect(raw).toEqual({ first: horizon, n: 31 });
        // The days before the horizon went with their partitions; the first copies with them.
        const [parts] = await db().query(
            `select count(*) filter (where to_date(substr(c.relname, 8), 'YYYYMMDD') < $1::date)::int as before, count(*)::int as all
             from pg_inherits as i inner join pg_class as c on c.oid = i.inhrelid
             where i.inhparent = 'raw.events'::regclass and c.relname ~ '^events_[0-9]{8}$'`,
            [horizon],
        );
        expect(parts.before).toBe(0);
        expect(parts.all).toBeGreaterThan(0);
        const [firsts] = await db().query('select count(*)::int as n from raw.first_copies');
        expect(firsts.n).toBe(31);

        // A price fix: the days from the horizon are re-priced, the days before it keep their rows.
        const seed = join(models, 'seeds', 'model_prices.csv');
        writeFileSync(
            seed,
            readFileSync(seed, 'utf8').replace('openai,gpt-4o-mini,2024-07-18T00:00:00Z,0.15,', 'openai,gpt-4o-mini,2024-07-18T00:00:00Z,0.30,'),
        );
        const built = await runCli(['build'], env);
        expect(built.code, built.stderr).toBe(0);
        // The fixed row applies to every day: those from the horizon on are rebuilt, as days.
        const [{ last }] = await db().query('select max(usage_date)::text as last from marts.fct_requests');
        expect(built.stderr).toMatch(new RegExp(`marts\\.fct_requests\\s+incremental ${horizon}\\.\\.${last}, \\d+ rows`));
        const after = await cost();
        expect(Object.keys(after)).toHaveLength(21);
        for (const day of days) expect(after[day], day).toBe(day < horizon ? 0.45 : 0.9);
        expect((await runCli(['test'], env)).stderr).toMatch(/test: \d+ passed, \d+ warned, 0 failed/);

        // A late file with an event older than the horizon: quarantined, not loaded, the mart day untouched.
        writeLog(dir, 'late.jsonl', jsonl([event(500, { request_id: 'late_old', timestamp: `${days[0]}T12:00:00Z` })]));
        const late = await runCli(['ingest', dir, '--max-error-rate', '1'], env);
        expect(late.stderr).toMatch(/0 loaded \+ 1 quarantined/);
        const [q] = await db().query("select reason from ops.quarantine where source_uri like '%late.jsonl'");
        expect(q.reason).toBe(`event of ${days[0]} is before the retention horizon ${horizon}: raw data that old is not kept (the marts keep that day)`);
        await runCli(['build'], env);
        expect((await cost())[days[0]]).toBe(0.45);
    }, 120_000);
});

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { sendAlerts } from '../reports/alerts/send-alerts.js';
import { sendDigests } from '../reports/digest/send-digests.js';
import { createSlackClient } from '../reports/digest/slack.js';
import { dailyPeriod, parseIsoWeek } from '../reports/period.js';
import { usingBrowser } from '../reports/render/browser.js';
import { writeWeeklyReport } from '../reports/weekly/weekly-report.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { Random } from '../pipelines/demo/random.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { addDays } from '../reports/period.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { FakeSlack } from './support/fake-slack.js';
import { addPrices, copyModels } from './support/models-fixture.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * Budgets, forecasts and anomalies on series built to have known answers. Every request is
 * gpt-4o input only, $2.50 per million tokens (seeds/model_prices.csv, 2024-08-06 row), so a
 * day's spend is exact: $10.00 = 4,000,000 tokens. The data ends on 2026-11-20.
 */
const USD = 2.5 / 1e6;
const tokensFor = (usd: number) => Math.round(usd / USD);
const LAST = '2026-11-20';
const SWITCH_DAY = '2026-11-12';

let seq = 0;
function spend(day: string, usd: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    seq++;
    return event(seq, {
        request_id: `f_${seq}`,
        timestamp: `${day}T12:00:00Z`,
        model: 'gpt-4o',
        input_tokens: tokensFor(usd),
        output_tokens: 0,
        feature: `${overrides.team ?? 'x'}-feature`,
        ...overrides,
    });
}

function days(from: string, to: string): string[] {
    const out: string[] = [];
    for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
    return out;
}

const isWeekend = (day: string) => [0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay());

function corpus(): Record<string, unknown>[] {
    const events: Record<string, unknown>[] = [];
    // weekly: $10 on weekdays, $2 on weekends, exactly.
    for (const d of days('2026-09-01', LAST)) events.push(spend(d, isWeekend(d) ? 2 : 10, { team: 'weekly' }));
    // runway: $10 every day.
    for (const d of days('2026-09-01', LAST)) events.push(spend(d, 10, { team: 'runway' }));
    // flicker: $10 a day, but $0 on Oct 6 and $30 on Oct 7 (its forecast against $305 goes over, back under, over again).
    for (const d of days('2026-09-01', LAST)) events.push(spend(d, d === '2026-10-06' ? 0.01 : d === '2026-10-07' ? 30 : 10, { team: 'flicker' }));
    // edge: the thresholds to the cent.
    for (const [d, usd] of [
        ['2026-10-01', 79.99],
        ['2026-10-02', 0.01],
        ['2026-10-03', 19.99],
        ['2026-10-04', 0.01],
    ] as const)
        events.push(spend(d, usd, { team: 'edge' }));
    // noisy: $20 weekdays, $8 weekends, times (1 + 0.1 z), z standard normal (Box-Muller, seed 7), a year.
    const rng = new Random(7);
    for (const d of days('2025-11-01', '2026-10-31')) {
        const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
        events.push(spend(d, Math.max(0.01, (isWeekend(d) ? 8 : 20) * (1 + 0.1 * z)), { team: 'noisy' }));
    }
    // anomaly series, $10 a day from 2026-10-01, each with one change on SWITCH_DAY.
    for (const d of days('2026-10-01', LAST)) {
        const on = d === SWITCH_DAY;
        const a = { team: 'anomaly' };
        events.push(spend(d, 10, { ...a, feature: 'steady' }));
        events.push(spend(d, on ? 60 : 10, { ...a, feature: 'spike' }));
        for (let k = 0; k < (on ? 10 : 1); k++) events.push(spend(d, 10, { ...a, feature: 'requests-x10' }));
        events.push(spend(d, on ? 50 : 10, { ...a, feature: 'tokens-x5' }));
        events.push(spend(d, 10, { ...a, feature: 'price-change', model: 'tm-priced' }));
        events.push(spend(d, on ? 30 : 10, { ...a, feature: 'model-switch', response_model: on ? 'gpt-4o-2024-11-20' : 'gpt-4o-2024-08-06' }));
    }
    return events;
}

describe('budgets, forecasts and anomalies', () => {
    const db = useTestDatabase('finance_budgets');
    const q = (text: string) => db().query(text);

    beforeAll(async () => {
        const models = copyModels('finance');
        writeFileSync(
            join(models, 'seeds', 'budgets.csv'),
            [
                'scope_type,scope_value,month,amount_usd,soft_pct,hard_pct,slack_channel',
                'team,edge,2026-10,100.00,,,',
                'team,runway,*,300.00,80,100,#platform-llm-spend',
                'team,weekly,*,1000.00,80,100,',
                'team,noisy,*,1000.00,80,100,',
                'team,flicker,2026-10,305.00,,,',
            ].join('\n'),
        );
        // tm-priced: $2.50 per million input tokens, $7.50 from SWITCH_DAY (a price rise the drivers must name).
        addPrices(models, [
            'openai,tm-priced,2024-01-01T00:00:00Z,2.50,10.00,,,,,,,,,,,,,,test',
            `openai,tm-priced,${SWITCH_DAY}T00:00:00Z,7.50,10.00,,,,,,,,,,,,,,test`,
        ]);
        const dir = tempDir('finance-logs');
        writeLog(dir, 'finance.jsonl', jsonl(corpus()));
        await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        const built = await seedBuildTest(db().handle.pool, await loadModels(models), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 120_000);

    it('% used and status at each threshold, to the cent: 79.99% is not soft, 80.00% is; 99.99% is not hard, 100.00% is', async () => {
        const rows = await q(
            "select as_of_date::text as day, mtd_spend_usd::text as mtd, pct_used::text as pct, status from marts.mart_budget_status where budget_id = 'team:edge:2026-10' and as_of_date <= '2026-10-04' order by 1",
        );
        expect(rows).toEqual([
            { day: '2026-10-01', mtd: '79.99000000', pct: '79.99', status: 'projected_over' },
            { day: '2026-10-02', mtd: '80.00000000', pct: '80.00', status: 'soft' },
            { day: '2026-10-03', mtd: '99.99000000', pct: '99.99', status: 'soft' },
            { day: '2026-10-04', mtd: '100.00000000', pct: '100.00', status: 'hard' },
        ]);
    });

    it('projected over, days until exhausted, and a forecast exactly at the budget that is still ok', async () => {
        const rows = await q(
            "select as_of_date::text as day, pct_used::text as pct, forecast_usd::text as forecast, projected_pct::text as projected, days_until_exhausted::text as left, status from marts.mart_budget_status where budget_id = 'team:runway:*' and as_of_date in ('2026-10-10', '2026-10-24', '2026-11-05') order by 1",
        );
        expect(rows).toEqual([
            // $10 a day: Oct 10 = $100 of $300 (33.33%); 31 days x $10 = $310 = 103.33%; ($300 - $100) / $10 = 20 days.
            { day: '2026-10-10', pct: '33.33', forecast: '310.00', projected: '103.33', left: '20.0', status: 'projected_over' },
            // Oct 24: $240 = 80% exactly.
            { day: '2026-10-24', pct: '80.00', forecast: '310.00', projected: '103.33', left: '6.0', status: 'soft' },
            // November has 30 days: $300 = 100% projected, not above the hard threshold.
            { day: '2026-11-05', pct: '16.67', forecast: '300.00', projected: '100.00', left: '25.0', status: 'ok' },
        ]);
    });

    it('a series with an exact weekly pattern: the month-end forecast is the true total, inside its interval', async () => {
        // November 2026: 21 weekdays x $10 + 9 weekend days (Sat 7, 14, 21, 28; Sun 1, 8, 15, 22, 29) x $2 = $228.00.
        const [row] = await q(
            "select forecast_usd::text as f, forecast_low_80_usd <= 228 and forecast_high_80_usd >= 228 as inside, is_low_confidence from marts.mart_spend_forecast where scope_value = 'weekly' and as_of_date = '2026-11-20'",
        );
        expect(row).toEqual({ f: '228.00', inside: true, is_low_confidence: false });
        // A flat daily mean would have said 30 x (mean of the last 28 days) = 30 x $7.7143 = $231.43: the weekday pattern matters.
    });

    it('under 14 days of history the forecast is marked low-confidence, with a wider interval', async () => {
        const rows = await q(
            "select history_days, is_low_confidence from marts.mart_spend_forecast where scope_value = 'weekly' and as_of_date in ('2026-09-13', '2026-09-14') order by 1",
        );
        expect(rows).toEqual([
            { history_days: 13, is_low_confidence: true },
            { history_days: 14, is_low_confidence: false },
        ]);
    });

    it('the backtest on a noisy series covers near the nominal level', async () => {
        const [r] = await q(
            "select count(*)::int as n, count(distinct forecast_month)::int as months, round(avg(is_in_80::int), 3)::text as c80, round(avg(is_in_95::int), 3)::text as c95, round(avg(abs_pct_error), 2)::text as mape from marts.mart_forecast_backtest where scope_value = 'noisy' and not is_low_confidence",
        );
        process.stderr.write(
            `forecast backtest (noisy series, 10% daily noise): ${r.n} forecasts over ${r.months} months, coverage 80%: ${r.c80}, 95%: ${r.c95}, MAPE ${r.mape}%\n`,
        );
        expect(r.months).toBe(12);
        // 12 months of as-of days are strongly correlated within a month: a loose band around the nominal level.
        expect(Number(r.c80)).toBeGreaterThan(0.65);
        expect(Number(r.c80)).toBeLessThan(0.95);
        expect(Number(r.c95)).toBeGreaterThan(0.85);
        expect(Number(r.mape)).toBeLessThan(5);
    });

    it('a spike is flagged on its day only; a steady series flags nothing', async () => {
        const flagged = await q(
            "select feature, usage_date::text as day, score::text as score from marts.mart_cost_anomalies where is_flagged and feature in ('steady', 'spike') order by 1, 2",
        );
        // Spike day: expected $10 (median of four $10 days), MAD 0 -> scale = max(0, 10% of 10, 0.01) = $1; score = (60 - 10) / 1 = 50.
        expect(flagged).toEqual([{ feature: 'spike', day: SWITCH_DAY, score: '50.00' }]);
        const [after] = await q("select score::text as score, is_flagged from marts.mart_cost_anomalies where feature = 'spike' and usage_date = '2026-11-19'");
        // A week later the same weekday's baseline holds the spike once: the median stays $10, the score 0.
        expect(after).toEqual({ score: '0.00', is_flagged: false });
    });

    it('the drivers name the injected cause: requests x10, tokens per request x5, a price change, a response model switch', async () => {
        const rows = await q(
            `select feature, is_flagged, primary_driver, requests_change_pct::text as requests, tokens_per_request_change_pct::text as tpr,
                    price_change_pct::text as price, response_model, base_response_model
             from marts.mart_cost_anomalies where scope_type = 'feature_model' and usage_date = '${SWITCH_DAY}'
               and feature in ('requests-x10', 'tokens-x5', 'price-change', 'model-switch') order by 1`,
        );
        expect(rows).toEqual([
            {
                feature: 'model-switch',
                is_flagged: true,
                primary_driver: 'response_model',
                requests: '0.0',
                tpr: '200.0',
                price: '0.0',
                response_model: 'gpt-4o-2024-11-20',
                base_response_model: 'gpt-4o-2024-08-06',
            },
            {
                feature: 'price-change',
                is_flagged: true,
                primary_driver: 'price',
                requests: '0.0',
                tpr: '0.0',
                price: '200.0',
                response_model: 'tm-priced',
                base_response_model: 'tm-priced',
            },
            {
                feature: 'requests-x10',
                is_flagged: true,
                primary_driver: 'requests',
                requests: '900.0',
                tpr: '0.0',
                price: '0.0',
                response_model: 'gpt-4o',
                base_response_model: 'gpt-4o',
            },
            {
                feature: 'tokens-x5',
                is_flagged: true,
                primary_driver: 'tokens_per_request',
                requests: '0.0',
                tpr: '400.0',
                price: '0.0',
                response_model: 'gpt-4o',
                base_response_model: 'gpt-4o',
            },
        ]);
    });

    it('the all-spend series adds up to the daily cost mart, to the cent', async () => {
        const [r] = await q(
            "select (select sum(spend_usd) from marts.mart_daily_scope_spend where scope_type = 'all')::text as scoped, (select sum(cost_usd) from marts.mart_daily_cost)::text as mart",
        );
        expect(r.scoped).toBe(r.mart);
    });

    it('alerts: each condition once across reruns; soft after projected over and hard after soft alert again; a lesser level after a worse one, or a cleared condition that returns, does not', async () => {
        const slack = new FakeSlack();
        await slack.start();
        try {
            const client = createSlackClient(slack.token, slack.url);
            const out = tempDir('finance-alerts');
            const run = async (day: string) =>
                (await sendAlerts(db().handle.pool, db().handle.db, { day, alertChannel: '#data-alerts', client, outDir: out, log: () => undefined }))
                    .filter(
                        (a) =>
                            a.alert.id.startsWith('budget:team:runway') ||
                            a.alert.id.startsWith('budget:team:flicker') ||
                            a.alert.id.startsWith('budget:team:edge'),
                    )
                    .map((a) => `${a.alert.tier} ${a.alert.id} ${a.status}`);
            const posted = () => slack.messages.filter((m) => /budget/.test(m.text)).map((m) => `${m.channel} ${m.text.split(':')[2]?.trim()}`);

            // Oct 2: edge at 80.00% (soft), flicker and runway projected over.
            expect(await run('2026-10-02')).toEqual([
                'P2 budget:team:edge:2026-10:2026-10:soft delivered',
                'P2 budget:team:flicker:2026-10:2026-10:projected_over delivered',
                'P2 budget:team:runway:*:2026-10:projected_over delivered',
            ]);
            // Oct 5: edge reached 100% on Oct 4: soft to hard alerts again; the others are unchanged.
            expect(await run('2026-10-05')).toEqual([
                'P1 budget:team:edge:2026-10:2026-10:hard delivered',
                'P2 budget:team:flicker:2026-10:2026-10:projected_over already_delivered',
                'P2 budget:team:runway:*:2026-10:projected_over already_delivered',
            ]);
            // The same day again, and the next day with the same states: nothing new.
            expect(await run('2026-10-05')).toEqual([
                'P1 budget:team:edge:2026-10:2026-10:hard already_delivered',
                'P2 budget:team:flicker:2026-10:2026-10:projected_over already_delivered',
                'P2 budget:team:runway:*:2026-10:projected_over already_delivered',
            ]);
            // flicker clears on Oct 6 (forecast $292.52 of $305) and is over again on Oct 7 ($327.52): no second alert.
            expect((await run('2026-10-06')).filter((l) => l.includes('flicker'))).toEqual([]);
            expect((await run('2026-10-07')).filter((l) => l.includes('flicker'))).toEqual([
                'P2 budget:team:flicker:2026-10:2026-10:projected_over already_delivered',
            ]);
            // runway passes its soft threshold on Oct 24: a worse state, a new alert.
            expect((await run('2026-10-24')).filter((l) => l.includes('runway'))).toEqual(['P2 budget:team:runway:*:2026-10:soft delivered']);
            // Back to a day when it was only projected over: superseded by the soft alert already sent.
            expect((await run('2026-10-10')).filter((l) => l.includes('runway'))).toEqual(['P2 budget:team:runway:*:2026-10:projected_over superseded']);
            // Channels as Slack names them (IDs): the alert channel, and the runway budget's own.
            expect(posted()).toEqual([
                'C0ALERT *P2 budget soft threshold*',
                'C0ALERT *P2 budget projected over*',
                'C0PLATFORM *P2 budget projected over*',
                'C0ALERT *P1 budget exceeded*',
                'C0ALERT *P2 budget soft threshold*', // flicker on Oct 24: $250.01 of $305 = 82.0%
                'C0PLATFORM *P2 budget soft threshold*',
            ]);
            const soft = slack.messages.find((m) => m.text.includes('soft threshold') && m.text.includes('runway'))!.text;
            // $240 of $300 = 80%; forecast $310; ($300 - $240) / $10 a day = 6 days.
            expect(soft).toContain(
                "team runway spent $240.00 of $300.00 (80.0%) in 2026-10 through 2026-10-24, past 80.0%; at the last 7 days' rate the budget is used up in 6.0 days; month-end forecast $310.00",
            );
        } finally {
            await slack.stop();
        }
    });

    it('an anomaly alert names its driver, once', async () => {
        const out = tempDir('finance-anomaly-alerts');
        const run = () =>
            sendAlerts(db().handle.pool, db().handle.db, {
                day: SWITCH_DAY,
                alertChannel: '#data-alerts',
                client: undefined,
                outDir: out,
                log: () => undefined,
            });
        const spike = (await run()).find((a) => a.alert.id === `anomaly:feature_model:anomaly / spike / gpt-4o:${SWITCH_DAY}`)!;
        expect(spike.alert.tier).toBe('P3');
        expect(spike.alert.text).toContain(`spent $60.00 against $10.00 expected (score 50.00)`);
        const retries = (await run()).find((a) => a.alert.id.includes('requests-x10'))!;
        expect(retries.alert.text).toContain('Driver: requests +900.0% (10 vs 1.00 a day)');
    });

    it('page 1 of the weekly PDF shows each budget with its forecast and interval, the forecast chart and the measured backtest; the anomalies have a section', async () => {
        const out = tempDir('finance-pdf');
        const report = await usingBrowser((browser) => writeWeeklyReport(db().handle.db, parseIsoWeek('2026-W47'), out, browser));
        const page1 = execFileSync('pdftotext', ['-layout', '-f', '1', '-l', '1', report.pdfPath!, '-'], { encoding: 'utf8' });
        expect(page1).toContain('Budgets and month-end forecast (data to 20 Nov 2026)');
        // runway on Nov 20: $200 of $300 = 66.67%; November 30 x $10 = $300 forecast, exactly the budget: ok.
        expect(page1).toMatch(/team runway\s+\$300\.00\s+\$200\.00\s+66\.67%\s+\$300\.00 \(80%: \$300\.00–\$300\.00\)\s+100\.00%\s+10\.0\s+ok/);
        expect(page1.replace(/\s+/g, ' ')).toMatch(
            /All spend, 2026-11: \$[\d,.]+ to 20 Nov 2026, forecast \$[\d,.]+ at month end \(80% interval \$[\d,.]+–\$[\d,.]+, 95% \$[\d,.]+–\$[\d,.]+\)/,
        );
        expect(page1.replace(/\s+/g, ' ')).toMatch(/Measured on \d+ past forecasts of all spend over 12 complete month\(s\)/);
        expect(page1).toContain('Spend this month (USD)'); // the forecast chart's axis
        expect(execFileSync('pdftotext', ['-layout', report.pdfPath!, '-'], { encoding: 'utf8' })).toContain('Cost anomalies');
        // The week of the injected spike lists it with its driver.
        const w46 = await writeWeeklyReport(db().handle.db, parseIsoWeek('2026-W46'), out, undefined);
        const html = readFileSync(w46.htmlPath, 'utf8');
        expect(html).toContain('<td>anomaly / spike / gpt-4o</td><td class="n">$60.00</td><td class="n">$10.00</td><td class="n">50.00</td>');
        expect(html).toContain(
            '<td>anomaly / requests-x10 / gpt-4o</td><td class="n">$100.00</td><td class="n">$10.00</td><td class="n">90.00</td><td>requests +900.0% (10 vs 1.00 a day)</td>',
        );
    }, 120_000);

    it("the daily digest names the budgets that need attention and the day's anomalies; a team digest shows its budget", async () => {
        const digestText = async (day: string, team?: string) => {
            const [sent] = await sendDigests(db().handle.pool, db().handle.db, {
                period: dailyPeriod(day),
                targets: [{ channel: '#x', team }],
                client: undefined,
                outDir: tempDir('finance-digest'),
                log: () => undefined,
            });
            const payload = JSON.parse(readFileSync((sent.outcome as { payloadPath: string }).payloadPath, 'utf8')) as {
                blocks: { text?: { text: string } }[];
            };
            return payload.blocks.map((b) => b.text?.text ?? '').join('\n');
        };
        const oct24 = await digestText('2026-10-24');
        expect(oct24).toContain('*Budgets, 2026-10* (data to 2026-10-24)');
        // edge's forecast: Oct 25-31 has one of each weekday; their means over Oct 1-24 are Thu 79.99/4,
        // Fri 0.01/4, Sat 19.99/4, Sun 0.01/3, Mon-Wed 0: $25.0008 more = $125.00.
        expect(oct24).toContain('• team edge: over (hard), $100.00 of $100.00 (100.00%), forecast $125.00 (125.00%)');
        // flicker: $10 x 22 days + $0.01 + $30 = $250.01 of $305 = 81.97%; runway: $240 of $300 = 80%, forecast 31 x $10.
        expect(oct24).toMatch(/• team flicker: soft threshold, \$250\.01 of \$305\.00 \(81\.97%\)/);
        expect(oct24).toContain('• team runway: soft threshold, $240.00 of $300.00 (80.00%), forecast $310.00 (103.33%)');
        expect(oct24).not.toContain('team weekly'); // ok budgets are not news
        // A team's digest shows its budget whatever its state.
        expect(await digestText('2026-11-05', 'runway')).toContain('• team runway: ok, $50.00 of $300.00 (16.67%), forecast $300.00 (100.00%)');
        const switchDay = await digestText(SWITCH_DAY);
        expect(switchDay).toContain('*Cost anomalies*');
        expect(switchDay).toContain('• anomaly / requests-x10 / gpt-4o: $100.00 vs $10.00 expected; requests +900.0% (10 vs 1.00 a day)');
    }, 60_000);
});

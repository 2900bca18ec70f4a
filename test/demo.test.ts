import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays, isoDay, parseIsoWeek } from '../reports/period.js';
import { tempDir } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

describe('tokenmart demo', () => {
    const db = useTestDatabase('demo');

    it('shows a budget past its soft threshold, one projected over and ones ok, and its retry loop in the PDF and the digest', async () => {
        const home = join(tempDir('demo-home'), '.tokenmart');
        const out = tempDir('demo-out');
        const r = await runCli(['demo', '--days', '42', '--scale', '0.2'], {
            DATABASE_URL: db().url,
            TOKENMART_HOME: home,
            TOKENMART_OUTPUT_DIR: out,
            SLACK_BOT_TOKEN: '',
        });
        expect(r.code, r.stderr).toBe(0);
        const yesterday = addDays(isoDay(Date.now()), -1);
        const statuses = await db().query(`select budget_id, status from marts.mart_budget_status where as_of_date = '${yesterday}' order by 1`);
        // On a month's last day the forecast is the actual: "projected over" can only read hard there.
        const lastDay = addDays(yesterday, 1).endsWith('-01');
        expect(statuses).toEqual([
            { budget_id: 'all:*:*', status: 'ok' },
            { budget_id: 'team:platform:*', status: 'soft' },
            { budget_id: 'team:search:*', status: 'ok' },
            { budget_id: 'team:support:*', status: lastDay ? 'hard' : 'projected_over' },
        ]);
        const pdf = join(out, readdirSync(out).find((f) => f.startsWith('weekly-') && f.endsWith('.pdf'))!);
        const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
        // The anomaly row: series, spend, expected, score, driver (the HTML the PDF is printed from) ...
        const html = readFileSync(pdf.replace(/\.pdf$/, '.html'), 'utf8');
        expect(html).toMatch(
            /<td>support \/ ticket-triage \/ gpt-4\.1<\/td><td class="n">\$[\d.,]+<\/td><td class="n">\$[\d.,]+<\/td><td class="n">[\d.]+<\/td><td>retries \(requests \+[\d.]+%, retry share \d+%/,
        );
        // ... and in the PDF's anomaly table, whose driver cell pdftotext wraps around the others in an order that depends on widths.
        const anomalies = text.slice(text.indexOf('Cost anomalies'), text.indexOf('Quality and reliability'));
        expect(anomalies).toMatch(/support \/ ticket-triage \//);
        expect(anomalies).toMatch(/retries \(requests \+\d+\.\d%, retry share \d+%/);
        const weekly = readdirSync(join(out, 'digests')).find((f) => f.startsWith('weekly_'))!;
        expect(readFileSync(join(out, 'digests', weekly), 'utf8')).toMatch(/support \/ ticket-triage \/ gpt-4\.1: \$[\d.]+ vs \$[\d.]+ expected; retries/);

        // The chargeback of the last complete month: shared spend (the internal summarizer, the embedding index) allocated,
        // the ledger CSV adding up to the month's spend in the cost mart, rounded once.
        const csvName = readdirSync(out).find((f) => /^chargeback-\d{4}-\d{2}\.csv$/.test(f))!;
        const month = csvName.slice(11, 18);
        const ledger = readFileSync(join(out, csvName), 'utf8').trim().split('\r\n').slice(1);
        const ledgerCents = ledger.reduce((a, line) => a + Math.round(Number(line.split(',')[1]) * 100), 0);
        const [spend] = await db().query(
            `select round(sum(cost_usd) * 100)::int as cents from marts.mart_daily_cost where to_char(usage_date, 'YYYY-MM') = '${month}'`,
        );
        expect(ledgerCents).toBe(spend.cents);
        const [shared] = await db().query(`select round(sum(allocated_usd) * 100)::int as cents from marts.mart_monthly_chargeback where month = '${month}'`);
        expect(shared.cents).toBeGreaterThan(100);
        expect(ledger.join('\n')).toMatch(/shared .*internal-tools \d+\.\d\d/);
        const statement = execFileSync('pdftotext', ['-layout', join(out, csvName.replace('.csv', '.pdf')), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
        const total = `$${Math.floor(spend.cents / 100).toLocaleString('en-US')}.${String(spend.cents % 100).padStart(2, '0')}`;
        expect(statement).toMatch(new RegExp(`Total \\$[\\d,.]+ \\$[\\d,.]+ ${total.replace('$', '\\$')} Against the invoices`));

        // The generated OpenAI invoice holds $12.34 the logs do not: the reconciliation finds exactly that, and says it.
        const [invoice] = await db().query(
            `select round(difference_usd, 2)::text as difference, status from marts.mart_invoice_reconciliation where grain = 'month' and provider = 'openai' and month = '${month}'`,
        );
        expect(invoice).toEqual({ difference: '12.34', status: 'invoiced_above' });
        expect(statement).toMatch(
            /Against the invoices: \d{4}-\d{2}: openai invoiced \$[\d,.]+, computed \$[\d,.]+ \(\+[\d.]+%\), invoiced above; likely: traffic never logged/,
        );

        // The prompt experiment: v8 raises thumbs-up and also escalations, assigned by session.
        const results = await db().query(
            "select metric, verdict, mixed_units::int as mixed_units, control_estimate::float8 as a, treatment_estimate::float8 as b from marts.mart_experiment_results where experiment_id = 'support-prompt-v8' and as_of_date = (select max(as_of_date) from marts.mart_experiment_results) order by metric",
        );
        const of = (metric: string) => results.find((x) => x.metric === metric)!;
        expect(of('assignment')).toMatchObject({ verdict: 'ok', mixed_units: 0 });
        expect(of('escalated_rate').verdict).toBe('worse');
        expect(of('thumbs_up_rate').b).toBeGreaterThan(of('thumbs_up_rate').a);
        // At the demo's 0.2 scale ~350 votes may not be enough to show +8 points: never 'worse' or 'no detectable difference'.
        expect(['better', 'not enough data']).toContain(of('thumbs_up_rate').verdict);
        // The quality page: experiments with the dot-and-interval chart, SLOs, stage latency.
        const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))![1]);
        const pageText = (n: number) => execFileSync('pdftotext', ['-f', String(n), '-l', String(n), '-layout', pdf, '-'], { encoding: 'utf8' });
        const page = Array.from({ length: pages }, (_, i) => i + 1).find((n) => /^\s*Experiments\s*$/m.test(pageText(n)));
        expect(page, 'a page headed Experiments').toBeDefined();
        const quality = pageText(page!).replace(/\s+/g, ' ');
        expect(quality).toMatch(/support-prompt-v8: support-chat, prompt_version v7 → v8/);
        expect(quality).toMatch(/escalated_rate .*worse/);
        expect(text).toMatch(/SLOs and error budgets .*support-chat latency/);
        expect(text).toMatch(/Where the time goes/);
        // Why spend changed: the waterfall's steps, from last week's spend to this week's.
        expect(text).toMatch(/Why spend changed .*Last week Volume Model mix Tokens per request Price per token This week/);
        // The agent (code-review runs as tasks in the contract v3 days): the page's figures are the task mart's for the report's week.
        const week = parseIsoWeek(/weekly-(\d{4}-W\d{2})\.pdf$/.exec(pdf)![1]);
        const [agents] = await db().query(
            `select count(*)::int as tasks, count(*) filter (where is_successful)::int as ok, sum(steps)::int as steps, sum(tool_calls)::int as tools, sum(llm_calls)::int as calls
             from marts.mart_agent_tasks where feature = 'code-review' and usage_date between '${week.start}' and '${week.end}'`,
        );
        expect(agents.tasks).toBeGreaterThan(10);
        expect(agents.steps).toBe(agents.calls + agents.tools);
        expect(text).toContain(`Agent tasks`);
        expect(text).toMatch(new RegExp(`code-review ${agents.tasks} ${((100 * agents.ok) / agents.tasks).toFixed(1)}% \\$`));
        // The chart is drawn: the page's pixels hold the verdicts' colours (pdftoppm, 50 dpi, raw PPM).
        const ppm = execFileSync('pdftoppm', ['-f', String(page), '-l', String(page), '-r', '50', pdf], { maxBuffer: 64 << 20 });
        const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 40).toString('latin1'))!;
        const pixels = ppm.subarray(header[0].length);
        const near = (r: number, g: number, b: number) => {
            let n = 0;
            for (let i = 0; i + 2 < pixels.length; i += 3) if (Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 40) n++;
            return n;
        };
        expect(near(0xc0, 0x50, 0x4d), 'red (worse) dots and intervals').toBeGreaterThan(20);
    }, 300_000);
});

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays, isoDay } from '../reports/period.js';
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
        const pdf = join(out, readdirSync(out).find((f) => f.endsWith('.pdf'))!);
        const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
        // The table's columns: day, series, spend, expected, score; the driver cell wraps around them.
        expect(text).toMatch(/retries \(requests \+\d+\.\d%, retry share \d+% .*support \/ ticket-triage \/ gpt-4\.1 \$[\d.]+ \$[\d.]+ [\d.]+/);
        const weekly = readdirSync(join(out, 'digests')).find((f) => f.startsWith('weekly_'))!;
        expect(readFileSync(join(out, 'digests', weekly), 'utf8')).toMatch(/support \/ ticket-triage \/ gpt-4\.1: \$[\d.]+ vs \$[\d.]+ expected; retries/);
    }, 300_000);
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/database.js';

/** What the demo's OpenAI invoice holds beyond the logs: a day of traffic from a key tokenmart never saw. */
export const DEMO_UNLOGGED_USD = 12.34;

/**
 * The demo's OpenAI cost export for a month, in the organization costs API's shape (a page of
 * daily buckets, dollars as numbers): each day's computed OpenAI spend, and on the month's second
 * day DEMO_UNLOGGED_USD more, so the reconciliation shows a known difference.
 */
export async function writeDemoInvoice(db: Kysely<DB>, dir: string, month: string): Promise<string> {
    const { rows } = await sql<{ day: string; usd: string }>`
        select usage_date::text as day, sum(cost_usd)::text as usd from marts.mart_daily_cost
        where provider = 'openai' and to_char(usage_date, 'YYYY-MM') = ${month}
        group by usage_date order by usage_date`.execute(db);
    const buckets = rows.map((r, i) => {
        const start = Date.parse(`${r.day}T00:00:00Z`) / 1000;
        const results = [{ object: 'organization.costs.result', amount: { value: Number(r.usd), currency: 'usd' }, line_item: null, project_id: 'proj_demo' }];
        if (i === 1)
            results.push({
                object: 'organization.costs.result',
                amount: { value: DEMO_UNLOGGED_USD, currency: 'usd' },
                line_item: null,
                project_id: 'proj_unlogged',
            });
        return { object: 'bucket', start_time: start, end_time: start + 86_400, results };
    });
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `openai-costs-${month}.json`);
    writeFileSync(path, JSON.stringify({ object: 'page', data: buckets, has_more: false, next_page: null }, null, 1));
    return path;
}

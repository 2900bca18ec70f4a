import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { projectRoot } from '../util/project-root.js';

const cents = (usd: number) => (Math.round(usd * 100) / 100).toFixed(2);

/**
 * The demo's budgets, set against its own month so that, whatever day it runs, the report shows
 * each state: platform past its soft threshold (85% used), support projected over (a budget
 * halfway between its spend so far and its forecast, soft threshold at 100%; on a month's last
 * day a forecast is the actual, so there it reads hard), search and all spend comfortably ok.
 * Every month gets the same amounts (the report's week may end in the month before). Written to
 * a copy of the models folder in the demo's home; returns that folder.
 */
export async function writeDemoBudgets(db: Kysely<DB>, demoHome: string, day: string): Promise<string> {
    const rows = await db
        .selectFrom('marts.mart_spend_forecast')
        .select(['scope_type', 'scope_value', 'mtd_spend_usd', 'forecast_usd', 'month_start'])
        .where('as_of_date', '=', day)
        .execute();
    const of = (type: string, value: string) => {
        const r = rows.find((x) => x.scope_type === type && x.scope_value === value);
        return { mtd: Number(r?.mtd_spend_usd ?? 0), forecast: Number(r?.forecast_usd ?? 0) };
    };
    const all = of('all', '*');
    const platform = of('team', 'platform');
    const support = of('team', 'support');
    const search = of('team', 'search');
    const models = join(demoHome, 'models');
    rmSync(models, { recursive: true, force: true });
    cpSync(join(projectRoot, 'models'), models, { recursive: true });
    writeFileSync(
        join(models, 'seeds', 'budgets.csv'),
        [
            'scope_type,scope_value,month,amount_usd,soft_pct,hard_pct,slack_channel',
            `all,*,*,${cents(Math.max(1, all.forecast * 1.4))},80,100,`,
            `team,platform,*,${cents(Math.max(1, platform.mtd / 0.85))},80,100,#platform-llm-spend`,
            `team,support,*,${cents(Math.max(1, (support.mtd + support.forecast) / 2))},100,100,#support-llm-spend`,
            `team,search,*,${cents(Math.max(1, search.forecast * 2))},80,100,#search-llm-spend`,
            '',
        ].join('\n'),
    );
    return models;
}

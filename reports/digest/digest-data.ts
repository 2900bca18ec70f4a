import { sql, type Kysely } from 'kysely';
import type { ReportDatabase } from '../mart-tables.js';
import { addDays, type Week } from '../period.js';

export type DigestKind = 'daily' | 'weekly';

export interface DigestPeriod {
    readonly kind: DigestKind;
    /** 2026-11-23 or 2026-W47. */
    readonly label: string;
    readonly start: string;
    readonly end: string;
}

export interface DigestData {
    readonly period: DigestPeriod;
    readonly team: string | undefined;
    readonly spend: string;
    /** Daily: the previous 7 days' average; weekly: the previous week. */
    readonly baseline: string;
    readonly baselineLabel: string;
    readonly requests: string;
    readonly errorRate: number | null;
    readonly p95LatencyMs: number | null;
    readonly thumbsUpRate: number | null;
    readonly unpricedRequests: string;
    readonly movers: readonly { readonly label: string; readonly change: string; readonly now: string }[];
    readonly failingTests: readonly string[];
    readonly last14Days: readonly { readonly day: string; readonly costUsd: string }[];
}

export function dailyPeriod(day: string): DigestPeriod {
    return { kind: 'daily', label: day, start: day, end: day };
}

export function weeklyPeriod(week: Week): DigestPeriod {
    return { kind: 'weekly', label: week.label, start: week.start, end: week.end };
}

const d = (day: string) => sql`${day}::date`;

export async function loadDigestData(db: Kysely<ReportDatabase>, period: DigestPeriod, team?: string): Promise<DigestData> {
    // The baseline: the 7 days before the period (daily: their average; weekly: the previous week).
    const baseStart = addDays(period.start, -7);
    const divisor = period.kind === 'daily' ? 7 : 1;
    const baseEnd = addDays(period.start, -1);
    const teamFilter = team ? sql`and team = ${team}` : sql``;
    const k = (
        await sql<{ spend: string; base: string; requests: string; unpriced: string }>`
        select
            coalesce(sum(cost_usd) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)::text as spend,
            (coalesce(sum(cost_usd) filter (where usage_date between ${d(baseStart)} and ${d(baseEnd)}), 0) / ${divisor})::text as base,
            coalesce(sum(requests) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)::text as requests,
            coalesce(sum(unpriced_requests) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)::text as unpriced
        from marts.mart_daily_cost
        where usage_date between ${d(baseStart)} and ${d(period.end)} ${teamFilter}
    `.execute(db)
    ).rows[0];
    const ops = (
        await sql<{ error_rate: string | null; p95: number | null }>`
        select avg(is_error::int)::text as error_rate, percentile_cont(0.95) within group (order by latency_ms) as p95
        from marts.fct_requests where usage_date between ${d(period.start)} and ${d(period.end)} ${teamFilter}
    `.execute(db)
    ).rows[0];
    const q = (
        await sql<{ rate: string | null }>`
        select (sum(q.thumbs_up)::numeric / nullif(sum(q.feedback_count), 0))::text as rate
        from marts.mart_daily_quality as q
        where q.usage_date between ${d(period.start)} and ${d(period.end)}
            ${team ? sql`and q.feature in (select distinct feature from marts.fct_requests where team = ${team} and usage_date between ${d(period.start)} and ${d(period.end)})` : sql``}
    `.execute(db)
    ).rows[0];
    const movers = (
        await sql<{ label: string; change: string; now: string }>`
        select team || ' · ' || feature || ' · ' || model as label,
            (coalesce(sum(cost_usd) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)
             - coalesce(sum(cost_usd) filter (where usage_date between ${d(baseStart)} and ${d(baseEnd)}), 0) / ${divisor})::text as change,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)::text as now
        from marts.mart_daily_cost
        where usage_date between ${d(baseStart)} and ${d(period.end)} ${teamFilter}
        group by 1 order by abs(coalesce(sum(cost_usd) filter (where usage_date between ${d(period.start)} and ${d(period.end)}), 0)
             - coalesce(sum(cost_usd) filter (where usage_date between ${d(baseStart)} and ${d(baseEnd)}), 0) / ${divisor}) desc, 1
        limit 3
    `.execute(db)
    ).rows;
    const latestRun = (await sql<{ run_id: string }>`select run_id from ops.test_results group by run_id order by max(tested_at) desc limit 1`.execute(db))
        .rows[0];
    const failing = latestRun
        ? (
              await sql<{
                  name: string;
              }>`select test_name || ' (' || status || ')' as name from ops.test_results where run_id = ${latestRun.run_id} and status in ('fail', 'error') order by 1`.execute(
                  db,
              )
          ).rows.map((r) => r.name)
        : [];
    const days = (
        await sql<{ day: string; cost: string }>`
        select g::date::text as day, coalesce(sum(c.cost_usd), 0)::text as cost
        from generate_series(${d(addDays(period.end, -13))}, ${d(period.end)}, interval '1 day') as g
        left join marts.mart_daily_cost as c on c.usage_date = g::date ${team ? sql`and c.team = ${team}` : sql``}
        group by 1 order by 1
    `.execute(db)
    ).rows;
    return {
        period,
        team,
        spend: k.spend,
        baseline: k.base,
        baselineLabel: period.kind === 'daily' ? '7-day average' : 'previous week',
        requests: k.requests,
        unpricedRequests: k.unpriced,
        errorRate: ops.error_rate === null ? null : Number(ops.error_rate),
        p95LatencyMs: ops.p95,
        thumbsUpRate: q.rate === null ? null : Number(q.rate),
        movers: movers.map((m) => ({ label: m.label, change: m.change, now: m.now })),
        failingTests: failing,
        last14Days: days.map((r) => ({ day: r.day, costUsd: r.cost })),
    };
}

import { sql, type Kysely } from 'kysely';
import type { ReportDatabase } from '../mart-tables.js';
import { addDays, type Week } from '../period.js';

/** Everything the weekly finance report shows, read from the marts only. */
export interface Breakdown {
    readonly key: string;
    readonly label2?: string;
    readonly thisWeek: string;
    readonly lastWeek: string;
    /** Requests this week with no price (their cost is not in thisWeek). */
    readonly unpriced: string;
}

export interface ModelLine {
    readonly provider: string;
    readonly model: string;
    readonly requests: string;
    readonly unpriced: string;
    readonly costUsd: string;
    readonly tokens: {
        readonly uncachedInput: string;
        readonly cacheRead: string;
        readonly cacheWrite: string;
        readonly output: string;
        readonly reasoning: string;
    };
    readonly cacheReadSavingsUsd: string;
    readonly cacheHitSavingsUsd: string;
}

export interface Mover {
    readonly team: string;
    readonly feature: string;
    readonly model: string;
    readonly thisWeek: string;
    readonly lastWeek: string;
    readonly change: string;
}

export interface FeatureHealth {
    readonly feature: string;
    readonly requests: string;
    readonly errorRate: number;
    readonly p95LatencyMs: number | null;
    readonly thumbsUpRate: number | null;
    readonly feedbackCount: string;
}

export interface WeeklyData {
    readonly week: Week;
    readonly previous: Week;
    readonly kpis: {
        readonly spend: string;
        readonly previousSpend: string;
        readonly monthToDate: string;
        readonly monthStart: string;
        readonly requests: string;
        readonly unpricedRequests: string;
        readonly cacheHitSavings: string;
        readonly cacheReadSavings: string;
    };
    readonly trend: readonly { readonly day: string; readonly team: string; readonly costUsd: string }[];
    readonly trendStart: string;
    readonly byTeam: readonly Breakdown[];
    readonly byFeature: readonly Breakdown[];
    readonly byModel: readonly ModelLine[];
    readonly movers: { readonly up: readonly Mover[]; readonly down: readonly Mover[] };
    readonly health: readonly FeatureHealth[];
    readonly notes: {
        readonly dataAsOf: Date | null;
        readonly daysWithData: readonly string[];
        readonly missingDays: readonly string[];
        readonly testRun: {
            readonly runId: string | null;
            readonly at: Date | null;
            readonly passed: number;
            readonly warned: number;
            readonly failed: number;
            readonly failing: readonly string[];
        };
        readonly unpricedModels: readonly { readonly provider: string; readonly model: string; readonly requests: string }[];
    };
}

const d = (day: string) => sql`${day}::date`;

export async function loadWeeklyData(db: Kysely<ReportDatabase>, week: Week): Promise<WeeklyData> {
    const previous = { label: '', start: addDays(week.start, -7), end: addDays(week.end, -7) };
    const monthStart = `${week.end.slice(0, 7)}-01`;
    const trendStart = addDays(week.start, -7 * 11);

    const kpi = (
        await sql<{ spend: string; previous_spend: string; mtd: string; requests: string; unpriced: string; hit_savings: string; read_savings: string }>`
        select
            coalesce(sum(cost_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as spend,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(previous.start)} and ${d(previous.end)}), 0)::text as previous_spend,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(monthStart)} and ${d(week.end)}), 0)::text as mtd,
            coalesce(sum(requests) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as requests,
            coalesce(sum(unpriced_requests) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as unpriced,
            coalesce(sum(cache_hit_savings_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as hit_savings,
            coalesce(sum(cache_read_savings_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as read_savings
        from marts.mart_daily_cost
        where usage_date between least(${d(previous.start)}, ${d(monthStart)}) and ${d(week.end)}
    `.execute(db)
    ).rows[0];

    const trend = (
        await sql<{ day: string; team: string; cost_usd: string }>`
        select usage_date::text as day, team, sum(cost_usd)::text as cost_usd
        from marts.mart_daily_team_cost
        where usage_date between ${d(trendStart)} and ${d(week.end)}
        group by 1, 2 order by 1, 2
    `.execute(db)
    ).rows.map((r) => ({ day: r.day, team: r.team, costUsd: r.cost_usd }));

    const breakdown = async (keys: readonly ('team' | 'cost_center' | 'feature')[]) =>
        (
            await sql<{ k: string; k2: string | null; this_week: string; last_week: string; unpriced: string }>`
        select ${sql.ref(keys[0])} as k, ${keys[1] ? sql.ref(keys[1]) : sql`null`}::text as k2,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as this_week,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(previous.start)} and ${d(previous.end)}), 0)::text as last_week,
            coalesce(sum(unpriced_requests) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as unpriced
        from marts.mart_daily_cost
        where usage_date between ${d(previous.start)} and ${d(week.end)}
        group by 1, 2
        order by sum(cost_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}) desc nulls last, 1
    `.execute(db)
        ).rows.map((r): Breakdown => ({ key: r.k, label2: r.k2 ?? undefined, thisWeek: r.this_week, lastWeek: r.last_week, unpriced: r.unpriced }));

    const byModel = (
        await sql<Record<string, string>>`
        select provider, model, sum(requests)::text as requests, sum(unpriced_requests)::text as unpriced, sum(cost_usd)::text as cost_usd,
            sum(uncached_input_tokens)::text as uncached, sum(cache_read_tokens)::text as cache_read, sum(cache_write_tokens)::text as cache_write,
            sum(output_excl_reasoning_tokens)::text as output, sum(reasoning_tokens)::text as reasoning,
            sum(cache_read_savings_usd)::text as read_savings, sum(cache_hit_savings_usd)::text as hit_savings
        from marts.mart_daily_cost
        where usage_date between ${d(week.start)} and ${d(week.end)}
        group by 1, 2 order by sum(cost_usd) desc, 1, 2
    `.execute(db)
    ).rows.map(
        (r): ModelLine => ({
            provider: r.provider,
            model: r.model,
            requests: r.requests,
            unpriced: r.unpriced,
            costUsd: r.cost_usd,
            tokens: { uncachedInput: r.uncached, cacheRead: r.cache_read, cacheWrite: r.cache_write, output: r.output, reasoning: r.reasoning },
            cacheReadSavingsUsd: r.read_savings,
            cacheHitSavingsUsd: r.hit_savings,
        }),
    );

    const movers = (
        await sql<{ team: string; feature: string; model: string; this_week: string; last_week: string; change: string }>`
        select team, feature, model,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)::text as this_week,
            coalesce(sum(cost_usd) filter (where usage_date between ${d(previous.start)} and ${d(previous.end)}), 0)::text as last_week,
            (coalesce(sum(cost_usd) filter (where usage_date between ${d(week.start)} and ${d(week.end)}), 0)
             - coalesce(sum(cost_usd) filter (where usage_date between ${d(previous.start)} and ${d(previous.end)}), 0))::text as change
        from marts.mart_daily_cost
        where usage_date between ${d(previous.start)} and ${d(week.end)}
        group by 1, 2, 3
    `.execute(db)
    ).rows.map((r): Mover => ({ team: r.team, feature: r.feature, model: r.model, thisWeek: r.this_week, lastWeek: r.last_week, change: r.change }));
    const byChange = [...movers].sort((a, b) => Number(b.change) - Number(a.change));

    const health = (
        await sql<{ feature: string; requests: string; error_rate: string; p95: number | null; thumbs_up_rate: string | null; feedback: string }>`
        with requests as (
            select feature, count(*) as requests, avg(is_error::int) as error_rate,
                percentile_cont(0.95) within group (order by latency_ms) as p95
            from marts.fct_requests
            where usage_date between ${d(week.start)} and ${d(week.end)}
            group by feature
        ),
        feedback as (
            select feature, sum(thumbs_up) as up, sum(feedback_count) as n
            from marts.mart_daily_quality
            where usage_date between ${d(week.start)} and ${d(week.end)}
            group by feature
        )
        select requests.feature, requests.requests::text, requests.error_rate::text, requests.p95,
            (feedback.up::numeric / nullif(feedback.n, 0))::text as thumbs_up_rate, coalesce(feedback.n, 0)::text as feedback
        from requests left join feedback using (feature)
        order by requests.requests desc
    `.execute(db)
    ).rows.map(
        (r): FeatureHealth => ({
            feature: r.feature,
            requests: r.requests,
            errorRate: Number(r.error_rate),
            p95LatencyMs: r.p95,
            thumbsUpRate: r.thumbs_up_rate === null ? null : Number(r.thumbs_up_rate),
            feedbackCount: r.feedback,
        }),
    );

    const days = (
        await sql<{ day: string }>`
        select distinct usage_date::text as day from marts.mart_daily_cost
        where usage_date between ${d(week.start)} and ${d(week.end)} order by 1
    `.execute(db)
    ).rows.map((r) => r.day);
    const allDays = Array.from({ length: 7 }, (_, i) => addDays(week.start, i));
    const asOf = (await sql<{ at: Date | null }>`select max(event_at) as at from marts.fct_requests`.execute(db)).rows[0].at;
    const latestRun = (
        await sql<{ run_id: string; at: Date }>`select run_id, max(tested_at) as at from ops.test_results group by run_id order by at desc limit 1`.execute(db)
    ).rows[0];
    const tests = latestRun
        ? (
              await sql<{
                  status: string;
                  test_name: string;
                  severity: string;
              }>`select status, test_name, severity from ops.test_results where run_id = ${latestRun.run_id}`.execute(db)
          ).rows
        : [];
    const unpricedModels = (
        await sql<{ provider: string; model: string; requests: string }>`
        select provider, model, sum(unpriced_requests)::text as requests from marts.mart_daily_cost
        where usage_date between ${d(week.start)} and ${d(week.end)} and unpriced_requests > 0
        group by 1, 2 order by sum(unpriced_requests) desc
    `.execute(db)
    ).rows;

    return {
        week,
        previous,
        trendStart,
        kpis: {
            spend: kpi.spend,
            previousSpend: kpi.previous_spend,
            monthToDate: kpi.mtd,
            monthStart,
            requests: kpi.requests,
            unpricedRequests: kpi.unpriced,
            cacheHitSavings: kpi.hit_savings,
            cacheReadSavings: kpi.read_savings,
        },
        trend,
        byTeam: await breakdown(['team', 'cost_center']),
        byFeature: await breakdown(['feature', 'team']),
        byModel,
        movers: {
            up: byChange.filter((m) => Number(m.change) > 0).slice(0, 5),
            down: byChange
                .filter((m) => Number(m.change) < 0)
                .reverse()
                .slice(0, 5),
        },
        health,
        notes: {
            dataAsOf: asOf,
            daysWithData: days,
            missingDays: allDays.filter((x) => !days.includes(x)),
            testRun: {
                runId: latestRun?.run_id ?? null,
                at: latestRun?.at ?? null,
                passed: tests.filter((t) => t.status === 'pass').length,
                warned: tests.filter((t) => t.status === 'warn').length,
                failed: tests.filter((t) => t.status === 'fail' || t.status === 'error').length,
                failing: tests.filter((t) => t.status !== 'pass').map((t) => `${t.test_name} (${t.status})`),
            },
            unpricedModels,
        },
    };
}

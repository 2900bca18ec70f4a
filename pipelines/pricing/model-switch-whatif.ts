import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/database.js';
import { UserError } from '../util/errors.js';

export interface WhatIfLine {
    readonly feature: string;
    readonly requests: number;
    /** Requests priced both ways: the only ones compared. */
    readonly compared: number;
    readonly currentUsd: string;
    readonly whatIfUsd: string;
    readonly changeUsd: string;
}

export interface WhatIf {
    readonly month: string;
    readonly from: string;
    readonly to: { readonly provider: string; readonly model: string };
    readonly lines: readonly WhatIfLine[];
    readonly total: WhatIfLine;
    /** Requests left out: no price today, or none for the target at their time or tier. */
    readonly notCompared: number;
}

export const QUALITY_CAVEAT =
    "Quality is not part of this estimate: the same tokens are re-priced at the target model's rates. The target may answer better or worse, with more or fewer tokens, and cache differently.";

/** `provider/model` or a model name that one provider's prices know. */
async function resolveTarget(db: Kysely<DB>, to: string): Promise<{ provider: string; model: string }> {
    const slash = to.indexOf('/');
    const [provider, model] = slash > 0 ? [to.slice(0, slash), to.slice(slash + 1)] : [undefined, to];
    const known = await db
        .selectFrom('intermediate.int_model_prices')
        .select(['provider', 'model'])
        .distinct()
        .where('model', '=', model)
        .$if(provider !== undefined, (qb) => qb.where('provider', '=', provider ?? ''))
        .execute();
    if (known.length === 1) return { provider: known[0].provider ?? '', model };
    if (known.length > 1)
        throw new UserError(`whatif: --to ${to} is priced by ${known.map((k) => k.provider).join(' and ')}; name one, e.g. --to ${known[0].provider}/${model}`);
    throw new UserError(
        `whatif: no price for --to ${to} in models/seeds/model_prices*.csv; add its prices (or import the community list) and run tokenmart build`,
    );
}

/**
 * Re-prices a month's requests of one model (optionally one feature) at another model's prices in
 * force at each request's time: the same token buckets, the target's cache rates, its long-context
 * threshold and its tier multipliers; application-cache hits cost nothing either way. The rate
 * selection mirrors intermediate.int_requests_priced, and a test re-prices a model as itself to
 * the cent to keep them the same.
 */
export async function modelSwitchWhatIf(db: Kysely<DB>, options: { month: string; from: string; to: string; feature?: string }): Promise<WhatIf> {
    const target = await resolveTarget(db, options.to);
    const monthStart = `${options.month}-01`;
    const { rows } = await sql<{ feature: string | null; requests: string; compared: string; current_usd: string; whatif_usd: string; change_usd: string }>`
        with requests as (
            select * from marts.fct_requests
            where model = ${options.from}
                and usage_date >= ${monthStart}::date and usage_date < (${monthStart}::date + interval '1 month')
                and (${options.feature ?? null}::text is null or feature = ${options.feature ?? null})
        ),
        target_prices as (
            select * from intermediate.int_model_prices where provider = ${target.provider} and model = ${target.model}
        ),
        matched as (
            select
                requests.*,
                target_prices.long_context_threshold is not null and requests.input_tokens > target_prices.long_context_threshold as is_target_long,
                case requests.service_tier
                    when 'standard' then 1::numeric
                    when 'batch' then target_prices.batch_multiplier
                    when 'flex' then target_prices.flex_multiplier
                    when 'priority' then target_prices.priority_multiplier
                end as target_multiplier,
                target_prices.input_per_mtok, target_prices.output_per_mtok, target_prices.cache_read_per_mtok,
                target_prices.cache_write_5m_per_mtok, target_prices.cache_write_1h_per_mtok, target_prices.reasoning_per_mtok,
                target_prices.lc_input_per_mtok, target_prices.lc_output_per_mtok, target_prices.lc_cache_read_per_mtok,
                target_prices.lc_cache_write_5m_per_mtok, target_prices.lc_cache_write_1h_per_mtok, target_prices.lc_reasoning_per_mtok
            from requests
            left join target_prices on requests.event_at >= target_prices.effective_from and requests.event_at < target_prices.effective_to
        ),
        repriced as (
            select
                feature,
                cost_usd,
                case when is_cache_hit then 0 else (
                    uncached_input_tokens * (case when is_target_long then lc_input_per_mtok else input_per_mtok end)
                    + cache_read_tokens * (case when is_target_long then lc_cache_read_per_mtok else cache_read_per_mtok end)
                    + cache_write_5m_tokens * (case when is_target_long then lc_cache_write_5m_per_mtok else cache_write_5m_per_mtok end)
                    + cache_write_1h_tokens * (case when is_target_long then lc_cache_write_1h_per_mtok else cache_write_1h_per_mtok end)
                    + output_excl_reasoning_tokens * (case when is_target_long then lc_output_per_mtok else output_per_mtok end)
                    + reasoning_tokens * (case when is_target_long then lc_reasoning_per_mtok else reasoning_per_mtok end)
                ) * target_multiplier * 0.000001 end as whatif_usd
            from matched
        )
        select
            feature,
            count(*)::text as requests,
            count(*) filter (where cost_usd is not null and whatif_usd is not null)::text as compared,
            coalesce(sum(cost_usd) filter (where whatif_usd is not null), 0)::text as current_usd,
            coalesce(sum(whatif_usd) filter (where cost_usd is not null), 0)::text as whatif_usd,
            (coalesce(sum(whatif_usd) filter (where cost_usd is not null), 0) - coalesce(sum(cost_usd) filter (where whatif_usd is not null), 0))::text as change_usd
        from repriced
        group by rollup (feature)
        order by grouping(feature), feature`.execute(db);
    if (rows.length < 2) {
        const models = await db
            .selectFrom('marts.fct_requests')
            .select('model')
            .distinct()
            .where('usage_date', '>=', monthStart)
            .where(sql<boolean>`usage_date < (${monthStart}::date + interval '1 month')`)
            .orderBy('model')
            .execute();
        throw new UserError(
            `whatif: no requests of ${options.from}${options.feature ? ` in feature ${options.feature}` : ''} in ${options.month} (models that month: ${models.map((m) => m.model).join(', ') || 'none'})`,
        );
    }
    // The last row is the rollup's total (feature NULL), computed in numeric like the others.
    const line = (r: (typeof rows)[number]): WhatIfLine => ({
        feature: r.feature ?? '(all)',
        requests: Number(r.requests),
        compared: Number(r.compared),
        currentUsd: r.current_usd,
        whatIfUsd: r.whatif_usd,
        changeUsd: r.change_usd,
    });
    const total = line(rows[rows.length - 1]);
    return { month: options.month, from: options.from, to: target, lines: rows.slice(0, -1).map(line), total, notCompared: total.requests - total.compared };
}

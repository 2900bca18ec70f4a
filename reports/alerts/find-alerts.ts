import type { Kysely, Selectable } from 'kysely';
import type { DB, MartsMartCostAnomalies } from '../../pipelines/db/database.js';
import { formatInt, formatUsd } from '../format.js';
import { isoWeekOf } from '../period.js';
import { mrkdwn } from '../sections/text.js';

/** P1: a hard budget passed; P2: a soft threshold passed, the month projected over, or an SLO burning; P3: a cost anomaly. */
export type AlertTier = 'P1' | 'P2' | 'P3';

export interface Alert {
    /** Unique per condition: budget:<budget id>:<month>:<level>, or anomaly:<scope>:<series>:<day>. */
    readonly id: string;
    readonly tier: AlertTier;
    /** Budget alerts: levels of the same budget and month that make this one redundant once sent. */
    readonly supersededBy: readonly string[];
    /** The budget's channel, else undefined (the alert channel). */
    readonly channel: string | undefined;
    readonly text: string;
}

/** Budget levels, least severe first: a level alerts once per budget and month, and not after a worse one. */
const LEVELS = ['projected_over', 'soft', 'hard'] as const;

const scopeName = (type: string | null, value: string | null) => (type === 'all' ? 'all spend' : `${type?.replace('_', ' ')} ${mrkdwn(value ?? '')}`);
const pct = (v: string | null) => (v === null ? '—' : `${Number(v).toFixed(1)}%`);

/** The alerts the marts hold for one as-of day (data through that day). */
export async function findAlerts(db: Kysely<DB>, day: string): Promise<Alert[]> {
    const budgets = await db.selectFrom('marts.mart_budget_status').selectAll().where('as_of_date', '=', day).orderBy('budget_id').execute();
    const alerts: Alert[] = [];
    for (const b of budgets) {
        const level = LEVELS.indexOf(b.status as (typeof LEVELS)[number]);
        if (level < 0) continue;
        const base = `budget:${b.budget_id}:${b.budget_month}`;
        const who = scopeName(b.scope_type, b.scope_value);
        const spent = `${formatUsd(b.mtd_spend_usd)} of ${formatUsd(b.amount_usd)} (${pct(b.pct_used)})`;
        const forecast = `month-end forecast ${formatUsd(b.forecast_usd)}${b.forecast_low_80_usd ? ` (80%: ${formatUsd(b.forecast_low_80_usd)}–${formatUsd(b.forecast_high_80_usd)})` : ''}${b.is_low_confidence ? ', low confidence: under 14 days of history' : ''}`;
        const unpriced = Number(b.unpriced_requests) > 0 ? ` ${formatInt(b.unpriced_requests!)} requests in scope are unpriced: spend is understated.` : '';
        const runway =
            b.days_until_exhausted !== null && Number(b.days_until_exhausted) > 0
                ? `; at the last 7 days' rate the budget is used up in ${b.days_until_exhausted} days`
                : '';
        const text =
            b.status === 'hard'
                ? `:rotating_light: *P1 budget exceeded*: ${who} spent ${spent} in ${b.budget_month} through ${day}, past the hard threshold of ${pct(b.hard_pct)}; ${forecast}.${unpriced} Do: cap or pause the heaviest features now, or raise the budget in models/seeds/budgets.csv.`
                : b.status === 'soft'
                  ? `:warning: *P2 budget soft threshold*: ${who} spent ${spent} in ${b.budget_month} through ${day}, past ${pct(b.soft_pct)}${runway}; ${forecast}.${unpriced} Do: review the top features and models in the weekly report before the hard threshold.`
                  : `:warning: *P2 budget projected over*: ${who} is on course for ${formatUsd(b.forecast_usd)} in ${b.budget_month} = ${pct(b.projected_pct)} of ${formatUsd(b.amount_usd)} (spent so far ${spent}); ${forecast}.${unpriced} Do: find what grew in the weekly report's movers, and act before the month ends.`;
        alerts.push({
            id: `${base}:${b.status}`,
            tier: b.status === 'hard' ? 'P1' : 'P2',
            supersededBy: LEVELS.slice(level + 1).map((l) => `${base}:${l}`),
            channel: b.slack_channel ?? undefined,
            text,
        });
    }
    // SLOs: burning (7-day burn rate above 1) or the window's budget spent. Once per objective,
    // level and ISO week: a burn that lasts a week is one message, and spent after burning is another.
    const slos = await db
        .selectFrom('marts.mart_slo_status')
        .selectAll()
        .where('usage_date', '=', day)
        .where('status', 'in', ['burning', 'exhausted'])
        .orderBy('feature')
        .orderBy('objective')
        .execute();
    const week = isoWeekOf(day).start;
    for (const s of slos) {
        const base = `slo:${s.feature}:${s.objective}:${week}`;
        const left = s.error_budget_remaining === null ? '—' : `${(100 * Number(s.error_budget_remaining)).toFixed(0)}%`;
        alerts.push({
            id: `${base}:${s.status}`,
            tier: 'P2',
            supersededBy: s.status === 'burning' ? [`${base}:exhausted`] : [],
            channel: undefined,
            text: `:hourglass_flowing_sand: *P2 SLO ${s.status === 'exhausted' ? 'error budget spent' : 'burning'}*: ${mrkdwn(s.feature ?? '')} ${s.objective} through ${day}: ${(100 * Number(s.attainment_7d)).toFixed(2)}% good over 7 days against a target of ${(100 * Number(s.target)).toFixed(2)}%, burn rate ${Number(s.burn_rate_7d).toFixed(2)}×; ${left} of the ${s.window_days}-day error budget left. Do: ${s.objective === 'latency' ? 'look for slow models, long prompts or retries in the feature (marts.mart_daily_usage, mart_daily_stage_latency)' : 'look at errors by type in marts.mart_daily_usage'}, and hold risky changes to the feature until the burn is under 1.`,
        });
    }
    const anomalies = await db
        .selectFrom('marts.mart_cost_anomalies')
        .selectAll()
        .where('usage_date', '=', day)
        .where('is_flagged', '=', true)
        .orderBy('score', 'desc')
        .execute();
    for (const a of anomalies) {
        alerts.push({
            id: `anomaly:${a.scope_type}:${a.series_key}:${day}`,
            tier: 'P3',
            supersededBy: [],
            channel: undefined,
            text: `:mag: *P3 cost anomaly* on ${day}: ${a.scope_type === 'tenant' ? 'tenant ' : ''}${mrkdwn(a.series_key ?? '')} spent ${formatUsd(a.spend_usd)} against ${formatUsd(a.expected_usd)} expected (score ${a.score}). Driver: ${describeDriver(a)}. Do: ${ADVICE[a.primary_driver ?? ''] ?? 'look at the day in marts.fct_requests'}.`,
        });
    }
    return alerts;
}

type AnomalyRow = Selectable<MartsMartCostAnomalies>;

const signed = (v: string | null) => (v === null ? 'n/a' : `${Number(v) > 0 ? '+' : ''}${v}%`);
const share = (v: string | null) => (v === null ? 'n/a' : `${(Number(v) * 100).toFixed(0)}%`);

/** The figures that show the driver, in words; `write` is how names from data are written (mrkdwn by default). */
export function describeDriver(a: AnomalyRow, write: (s: string) => string = mrkdwn): string {
    switch (a.primary_driver) {
        case 'retries':
            return `retries (requests ${signed(a.requests_change_pct)}, retry share ${share(a.retry_share)} vs ${share(a.base_retry_share)}, errors ${share(a.error_share)} vs ${share(a.base_error_share)})`;
        case 'requests':
            return `requests ${signed(a.requests_change_pct)} (${a.requests} vs ${a.base_requests} a day)`;
        case 'tokens_per_request':
            return `tokens per request ${signed(a.tokens_per_request_change_pct)}`;
        case 'price':
            return `the rates paid per token ${signed(a.price_change_pct)} (a price change, a tier, or long-context requests)`;
        case 'response_model':
            return `the response model changed from ${write(a.base_response_model ?? '?')} to ${write(a.response_model ?? '?')} (tokens per request ${signed(a.tokens_per_request_change_pct)}, rates ${signed(a.price_change_pct)})`;
        case 'token_mix':
            return `the token mix (cache hit rate ${share(a.cache_hit_rate)} vs ${share(a.base_cache_hit_rate)}, rates ${signed(a.price_change_pct)})`;
        case 'new_spend':
            return 'spend where the same weekday had none in the 4 weeks before';
        default:
            return 'not determined';
    }
}

const ADVICE: Readonly<Record<string, string>> = {
    retries: 'check the caller for a retry loop (backoff, a cap on attempts) and the provider status',
    requests: 'check who calls the feature and whether the traffic is expected',
    tokens_per_request: 'check prompt and context size changes (a prompt release, retrieval returning more)',
    price: 'check seeds/model_prices.csv and the service tier in use',
    response_model: 'pin the model version, or accept the new one and update the prices if it bills differently',
    token_mix: 'check the prompt cache (a changed prefix stops cache hits)',
    new_spend: 'confirm the new usage is planned and has a budget',
};

import type { ColumnType } from 'kysely';

/** The mart and ops tables the reports read (numeric and bigint arrive as exact strings). */
type Numeric = ColumnType<string, never, never>;
type Day = ColumnType<Date, never, never>;

export interface MartDailyCost {
    usage_date: Day;
    team: string;
    cost_center: string;
    feature: string;
    tenant: string;
    provider: string;
    model: string;
    requests: Numeric;
    unpriced_requests: Numeric;
    cache_hit_requests: Numeric;
    input_tokens: Numeric;
    output_tokens: Numeric;
    uncached_input_tokens: Numeric;
    cache_read_tokens: Numeric;
    cache_write_tokens: Numeric;
    output_excl_reasoning_tokens: Numeric;
    reasoning_tokens: Numeric;
    uncached_input_cost_usd: Numeric;
    cache_read_cost_usd: Numeric;
    cache_write_cost_usd: Numeric;
    output_cost_usd: Numeric;
    reasoning_cost_usd: Numeric;
    cost_usd: Numeric;
    cache_hit_savings_usd: Numeric;
    cache_read_savings_usd: Numeric;
}

export interface MartDailyTeamCost {
    usage_date: Day;
    team: string;
    cost_center: string;
    requests: Numeric;
    cost_usd: Numeric;
}

export interface FctRequests {
    request_id: string;
    event_at: Date;
    usage_date: Day;
    team: string;
    feature: string;
    model: string;
    is_error: boolean;
    latency_ms: number | null;
    cost_usd: Numeric | null;
}

export interface MartDailyQuality {
    usage_date: Day;
    feature: string;
    model: string;
    prompt_version: string;
    requests: Numeric;
    feedback_count: Numeric;
    thumbs_up: Numeric;
}

export interface TestResults {
    run_id: string;
    test_name: string;
    model: string;
    severity: 'warn' | 'error';
    status: 'pass' | 'warn' | 'fail' | 'error';
    failures: Numeric;
    message: string | null;
    tested_at: Date;
}

export interface ReportDatabase {
    'marts.mart_daily_cost': MartDailyCost;
    'marts.mart_daily_team_cost': MartDailyTeamCost;
    'marts.mart_daily_quality': MartDailyQuality;
    'marts.fct_requests': FctRequests;
    'ops.test_results': TestResults;
}

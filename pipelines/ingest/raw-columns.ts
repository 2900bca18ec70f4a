/**
 * The typed columns of raw.events that come from an event's fields, in COPY order. Fields not
 * listed here (unknown or newer) go to the `extras` jsonb column. Must match the migrations.
 */
export type ColumnKind = 'text' | 'int' | 'num' | 'bool' | 'json';

export const RAW_EVENT_FIELDS: ReadonlyArray<readonly [string, ColumnKind]> = [
    ['schema_version', 'int'],
    ['request_id', 'text'],
    ['provider', 'text'],
    ['model', 'text'],
    ['input_tokens', 'int'],
    ['output_tokens', 'int'],
    ['status', 'text'],
    ['response_model', 'text'],
    ['operation', 'text'],
    ['session_id', 'text'],
    ['trace_id', 'text'],
    ['user_id', 'text'],
    ['team', 'text'],
    ['feature', 'text'],
    ['tenant', 'text'],
    ['environment', 'text'],
    ['prompt_version', 'text'],
    ['cache_read_tokens', 'int'],
    ['cache_write_tokens', 'int'],
    ['cache_write_1h_tokens', 'int'],
    ['reasoning_tokens', 'int'],
    ['service_tier', 'text'],
    ['latency_ms', 'num'],
    ['time_to_first_token_ms', 'num'],
    ['error_type', 'text'],
    ['retry_attempt', 'int'],
    ['cache_hit', 'bool'],
    ['reported_cost_usd', 'num'],
    ['feedback', 'int'],
    ['eval_scores', 'json'],
    ['refusal', 'bool'],
    ['guardrail_flags', 'json'],
    ['outcome', 'text'],
    ['stages', 'json'],
    ['tags', 'json'],
    ['user_satisfaction_score', 'int'],
    ['prompt_text', 'text'],
    ['completion_text', 'text'],
];

/** Fields that become columns by another name or are derived. */
const SPECIAL = ['timestamp'];

export const KNOWN_FIELDS: ReadonlySet<string> = new Set([...RAW_EVENT_FIELDS.map(([name]) => name), ...SPECIAL]);

export const RAW_COPY_COLUMNS = [
    'file_id',
    'line_no',
    'event_at',
    'prompt_chars',
    'completion_chars',
    ...RAW_EVENT_FIELDS.map(([name]) => name),
    'extras',
] as const;

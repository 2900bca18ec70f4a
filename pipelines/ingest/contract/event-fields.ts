/**
 * THE event contract, defined once. Everything else is generated from this list or checked
 * against it: the JSON Schema files producers validate with (`npm run contract`), the raw.events
 * columns (added by the migrator when a field is new), the loader's COPY column order, the PII
 * policy the loader applies, the README's contract table and the docs of raw.events.
 *
 * Adding a field: append it here with the next `since` version (and that version to
 * CONTRACT_VERSIONS), run `npm run contract`, and use it in the models that need it.
 * Versions are additive: a field is never removed or retyped, so older files keep loading.
 */

/** Postgres type of the raw.events column a field lands in. */
export type RawColumnType = 'text' | 'smallint' | 'integer' | 'bigint' | 'double precision' | 'numeric' | 'boolean' | 'jsonb' | 'timestamptz';

/**
 * What the loader does with a field's value before it lands (see the README's "Privacy"):
 * - `kept`: stored as sent (numbers, booleans, enums and machine identifiers);
 * - `scanned`: free text, searched for PII (emails, phones, cards, keys, IPs), which is redacted;
 * - `hashed`: replaced by a keyed hash when TOKENMART_USER_ID_HMAC_KEY is set, else scanned;
 * - `dropped`: never stored (its length is kept), unless `ingest.keepText` (then scanned).
 */
export type PiiPolicy = 'kept' | 'scanned' | 'hashed' | 'dropped';

/** A JSON Schema fragment (draft 2020-12) for one property. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface EventField {
    readonly name: string;
    /** The contract version that added the field. */
    readonly since: number;
    /**
     * `true`: every event has it. `'model-calls'`: every event up to AGENT_STEPS_SINCE, then every
     * model call (an agent step, which calls no model, may leave it out).
     */
    readonly required?: true | 'model-calls';
    readonly schema: JsonSchema;
    /** The raw.events column: same name unless `columnName` says otherwise. */
    readonly column: RawColumnType;
    readonly columnName?: string;
    readonly pii: PiiPolicy;
    /**
     * Longest value kept, in characters (dimensions only): a longer one is cut, marked and counted
     * at load, so one hostile value cannot break an index, a report or a chart downstream.
     */
    readonly maxChars?: number;
    readonly description: string;
}

/** The bound of dimension values (team, feature, model, ...). */
export const DIMENSION_MAX_CHARS = 200;

/** Every contract version and what it changed. The latest is the highest key. */
export const CONTRACT_VERSIONS: Readonly<Record<number, string>> = {
    1: 'the first version',
    2: 'adds user_satisfaction_score (additive, nullable)',
    3: 'adds task_id, tool_name, tool_call_hash and retrieved_documents, and agent steps (`operation` invoke_agent or execute_tool, which need no provider, model or tokens), for agent and RAG metrics (additive: every v2 event is a valid v3 event)',
};

/**
 * Agent steps (OpenTelemetry GenAI operation names): an agent's run and its tool calls. They are
 * not model calls: staging keeps them apart (staging.stg_agent_steps), so request counts, costs
 * and latency percentiles stay model calls only. Since v3.
 */
export const AGENT_STEP_OPERATIONS: readonly string[] = ['invoke_agent', 'execute_tool'];
export const AGENT_STEPS_SINCE = 3;

const TOKENS_MAX = 1_000_000_000_000;
const str = { type: ['string', 'null'] } as const;
const tokens = { type: ['integer', 'null'], minimum: 0, maximum: TOKENS_MAX } as const;

export const EVENT_FIELDS: readonly EventField[] = [
    {
        name: 'schema_version',
        since: 1,
        required: true,
        schema: { type: 'integer', minimum: 1, maximum: 1000 },
        column: 'integer',
        pii: 'kept',
        description: 'Contract version the event was written for; a newer version than this build knows is loaded against the latest and reported',
    },
    {
        name: 'request_id',
        since: 1,
        required: true,
        schema: { type: 'string', minLength: 1, maxLength: 512 },
        column: 'text',
        pii: 'kept',
        description: 'Unique per model call; the dedupe key',
    },
    {
        name: 'timestamp',
        since: 1,
        required: true,
        schema: { type: 'string', format: 'date-time' },
        column: 'timestamptz',
        columnName: 'event_at',
        pii: 'kept',
        description: 'Request start, RFC 3339 **with offset** (`Z` or `+02:00`)',
    },
    {
        name: 'provider',
        since: 1,
        required: 'model-calls',
        schema: { type: 'string', minLength: 1 },
        column: 'text',
        pii: 'kept',
        maxChars: DIMENSION_MAX_CHARS,
        description: '`openai`, `anthropic`, `azure.ai.openai`, `aws.bedrock`, `gcp.vertex_ai`, `gcp.gemini`, ... (OpenTelemetry `gen_ai.provider.name`)',
    },
    {
        name: 'model',
        since: 1,
        required: 'model-calls',
        schema: { type: 'string', minLength: 1 },
        column: 'text',
        pii: 'kept',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Requested model',
    },
    {
        name: 'input_tokens',
        since: 1,
        required: 'model-calls',
        schema: { type: 'integer', minimum: 0, maximum: TOKENS_MAX },
        column: 'bigint',
        pii: 'kept',
        description: 'ALL input tokens, cache reads and cache writes included',
    },
    {
        name: 'output_tokens',
        since: 1,
        required: 'model-calls',
        schema: { type: 'integer', minimum: 0, maximum: TOKENS_MAX },
        column: 'bigint',
        pii: 'kept',
        description: 'ALL output tokens, reasoning included',
    },
    { name: 'status', since: 1, required: true, schema: { enum: ['ok', 'error'] }, column: 'text', pii: 'kept', description: '`ok` or `error`' },
    {
        name: 'response_model',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'kept',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Model that answered (may be a dated snapshot)',
    },
    {
        name: 'operation',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'scanned',
        maxChars: DIMENSION_MAX_CHARS,
        description:
            "OpenTelemetry GenAI operation names: `chat` (the default), `embeddings`, `text_completion`, `generate_content`; since v3 the agent steps `invoke_agent` (a task's run) and `execute_tool` (a tool call), which need no provider, model or tokens",
    },
    { name: 'session_id', since: 1, schema: str, column: 'text', pii: 'kept', maxChars: DIMENSION_MAX_CHARS, description: 'Conversation or session' },
    { name: 'trace_id', since: 1, schema: str, column: 'text', pii: 'kept', maxChars: DIMENSION_MAX_CHARS, description: 'Distributed trace id' },
    {
        name: 'user_id',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'hashed',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'End user (a keyed hash with TOKENMART_USER_ID_HMAC_KEY)',
    },
    {
        name: 'team',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'scanned',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Team the event claims (the feature owner wins downstream)',
    },
    {
        name: 'feature',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'scanned',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Product feature (key of seeds/features.csv)',
    },
    { name: 'tenant', since: 1, schema: str, column: 'text', pii: 'scanned', maxChars: DIMENSION_MAX_CHARS, description: 'Customer / tenant' },
    { name: 'environment', since: 1, schema: str, column: 'text', pii: 'scanned', maxChars: DIMENSION_MAX_CHARS, description: '`production`, `staging`, ...' },
    { name: 'prompt_version', since: 1, schema: str, column: 'text', pii: 'scanned', maxChars: DIMENSION_MAX_CHARS, description: 'Prompt template version' },
    {
        name: 'cache_read_tokens',
        since: 1,
        schema: tokens,
        column: 'bigint',
        pii: 'kept',
        description: 'Input tokens read from the provider prompt cache (part of `input_tokens`)',
    },
    {
        name: 'cache_write_tokens',
        since: 1,
        schema: tokens,
        column: 'bigint',
        pii: 'kept',
        description: 'Input tokens written to the provider prompt cache (part of `input_tokens`)',
    },
    {
        name: 'cache_write_1h_tokens',
        since: 1,
        schema: tokens,
        column: 'bigint',
        pii: 'kept',
        description: 'Of `cache_write_tokens`, those with a 1-hour TTL (the rest are 5-minute writes)',
    },
    {
        name: 'reasoning_tokens',
        since: 1,
        schema: tokens,
        column: 'bigint',
        pii: 'kept',
        description: 'Reasoning tokens (part of `output_tokens`)',
    },
    {
        name: 'service_tier',
        since: 1,
        schema: { enum: ['standard', 'batch', 'flex', 'priority', null] },
        column: 'text',
        pii: 'kept',
        description: '`standard`, `batch`, `flex` or `priority`',
    },
    {
        name: 'latency_ms',
        since: 1,
        schema: { type: ['number', 'null'], minimum: 0, maximum: 1e9 },
        column: 'double precision',
        pii: 'kept',
        description: 'End-to-end latency',
    },
    {
        name: 'time_to_first_token_ms',
        since: 1,
        schema: { type: ['number', 'null'], minimum: 0, maximum: 1e9 },
        column: 'double precision',
        pii: 'kept',
        description: 'Time to the first streamed token',
    },
    {
        name: 'error_type',
        since: 1,
        schema: str,
        column: 'text',
        pii: 'scanned',
        maxChars: DIMENSION_MAX_CHARS,
        description: '`timeout`, `rate_limit`, ... when status is `error`',
    },
    {
        name: 'retry_attempt',
        since: 1,
        schema: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000 },
        column: 'integer',
        pii: 'kept',
        description: '0 for the first attempt',
    },
    {
        name: 'cache_hit',
        since: 1,
        schema: { type: ['boolean', 'null'] },
        column: 'boolean',
        pii: 'kept',
        description: "Answered from the application's own cache (no provider call: cost 0)",
    },
    {
        name: 'reported_cost_usd',
        since: 1,
        schema: { type: ['number', 'null'], minimum: 0, maximum: 1e9 },
        column: 'numeric',
        pii: 'kept',
        description: "A gateway's own cost figure, kept for reconciliation",
    },
    {
        name: 'feedback',
        since: 1,
        schema: { enum: [1, -1, null] },
        column: 'smallint',
        pii: 'kept',
        description: 'Thumbs up (`1`) or down (`-1`)',
    },
    {
        name: 'eval_scores',
        since: 1,
        schema: { type: ['object', 'null'], additionalProperties: { type: 'number', minimum: 0, maximum: 1 } },
        column: 'jsonb',
        pii: 'scanned',
        description: 'Object: score name -> 0..1 (RAG: `context_precision`, `context_recall`, `faithfulness`, `answer_relevancy`)',
    },
    { name: 'refusal', since: 1, schema: { type: ['boolean', 'null'] }, column: 'boolean', pii: 'kept', description: 'The model refused' },
    {
        name: 'guardrail_flags',
        since: 1,
        schema: { type: ['array', 'null'], items: { type: 'string' } },
        column: 'jsonb',
        pii: 'scanned',
        description: 'Names of the guardrails that fired',
    },
    {
        name: 'outcome',
        since: 1,
        schema: { enum: ['resolved', 'escalated', 'abandoned', null] },
        column: 'text',
        pii: 'kept',
        description: '`resolved`, `escalated` or `abandoned`',
    },
    {
        name: 'stages',
        since: 1,
        schema: {
            type: ['array', 'null'],
            items: { type: 'object', required: ['name', 'duration_ms'], properties: { name: { type: 'string' }, duration_ms: { type: 'number', minimum: 0 } } },
        },
        column: 'jsonb',
        pii: 'scanned',
        description: 'Array of `{name, duration_ms}`: retrieval, rerank, llm, guardrail ...',
    },
    {
        name: 'tags',
        since: 1,
        schema: { type: ['object', 'null'] },
        column: 'jsonb',
        pii: 'scanned',
        description: 'Free-form object (keys and values scanned)',
    },
    {
        name: 'prompt_text',
        since: 1,
        schema: { type: ['string', 'null'] },
        column: 'text',
        pii: 'dropped',
        description: 'Dropped at load (its length is kept in `prompt_chars`) unless `ingest.keepText`',
    },
    {
        name: 'completion_text',
        since: 1,
        schema: { type: ['string', 'null'] },
        column: 'text',
        pii: 'dropped',
        description: 'Dropped at load (its length is kept in `completion_chars`) unless `ingest.keepText`',
    },
    {
        name: 'user_satisfaction_score',
        since: 2,
        schema: { type: ['integer', 'null'], minimum: 1, maximum: 5 },
        column: 'smallint',
        pii: 'kept',
        description: 'Survey score 1..5',
    },
    {
        name: 'task_id',
        since: 3,
        schema: str,
        column: 'text',
        pii: 'kept',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Agent task the call or step belongs to (its steps share it; else their trace_id)',
    },
    {
        name: 'tool_name',
        since: 3,
        schema: str,
        column: 'text',
        pii: 'scanned',
        maxChars: DIMENSION_MAX_CHARS,
        description: 'Tool an agent step called (`operation` = `execute_tool`)',
    },
    {
        name: 'tool_call_hash',
        since: 3,
        schema: str,
        column: 'text',
        pii: 'kept',
        maxChars: DIMENSION_MAX_CHARS,
        description: "A hash of the tool call's arguments, made by the producer (never the arguments): repeated calls show loops",
    },
    {
        name: 'retrieved_documents',
        since: 3,
        schema: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000 },
        column: 'integer',
        pii: 'kept',
        description: 'Documents retrieval returned for this request (RAG)',
    },
];

/** raw.events columns the loader derives from a field rather than copying it. */
export const DERIVED_COLUMNS: readonly { readonly name: string; readonly column: RawColumnType; readonly from: string; readonly description: string }[] = [
    { name: 'prompt_chars', column: 'integer', from: 'prompt_text', description: 'Length of prompt_text in characters (the text itself is dropped)' },
    { name: 'completion_chars', column: 'integer', from: 'completion_text', description: 'Length of completion_text in characters' },
];

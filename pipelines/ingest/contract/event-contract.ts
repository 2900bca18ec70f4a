import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { eventJsonSchema, LATEST_SCHEMA_VERSION } from './event-schema.js';

export { LATEST_SCHEMA_VERSION };

export type CheckedEvent =
    | { readonly ok: true; readonly event: Record<string, unknown>; readonly version: number; readonly unknownVersion: boolean; readonly eventAt: Date }
    | { readonly ok: false; readonly reason: string };

// RFC 3339 date-time with a mandatory offset: a timestamp without one is ambiguous, so it is refused.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

let validators: Map<number, ValidateFunction> | undefined;
function validatorFor(version: number): ValidateFunction {
    if (!validators) {
        const ajv = new Ajv2020({ allErrors: false, strict: false });
        ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) });
        validators = new Map();
        for (let v = 1; v <= LATEST_SCHEMA_VERSION; v++) validators.set(v, ajv.compile(eventJsonSchema(v)));
    }
    return validators.get(Math.min(version, LATEST_SCHEMA_VERSION))!;
}

function describe(validate: ValidateFunction): string {
    const e = validate.errors![0]; // set whenever validation fails
    const field = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '';
    if (e.keyword === 'required') return `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    if (e.keyword === 'format' && field === 'timestamp') return 'field "timestamp" is not an RFC 3339 date-time with offset (e.g. 2026-11-23T14:05:00Z)';
    if (e.keyword === 'minimum' && field.endsWith('tokens')) return `field "${field}" is negative`;
    return `field "${field || '(event)'}" ${e.message ?? 'is invalid'}`;
}

/** Validates one parsed line against the contract of its schema_version. */
export function checkEvent(value: unknown): CheckedEvent {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'line is JSON but not an object' };
    const event = value as Record<string, unknown>;
    const version = event.schema_version;
    if (version === undefined) return { ok: false, reason: 'missing required field "schema_version"' };
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
        return { ok: false, reason: 'field "schema_version" must be an integer >= 1' };
    const validate = validatorFor(version);
    if (!validate(event)) return { ok: false, reason: describe(validate) };
    // Cross-field rules JSON Schema cannot say: the OTel totals must contain their parts, or a
    // token would be counted twice (or negative) when staging splits them into buckets.
    // (An agent step may have no tokens: its checks pass on zeros.)
    const input = (event.input_tokens as number | undefined) ?? 0;
    const cached = ((event.cache_read_tokens as number | null) ?? 0) + ((event.cache_write_tokens as number | null) ?? 0);
    if (cached > input)
        return {
            ok: false,
            reason: `cache_read_tokens + cache_write_tokens (${cached}) exceed input_tokens (${input}); input_tokens must include cached tokens`,
        };
    const write1h = (event.cache_write_1h_tokens as number | null) ?? 0;
    if (write1h > ((event.cache_write_tokens as number | null) ?? 0)) return { ok: false, reason: 'cache_write_1h_tokens exceed cache_write_tokens' };
    const reasoning = (event.reasoning_tokens as number | null) ?? 0;
    const output = (event.output_tokens as number | undefined) ?? 0;
    if (reasoning > output)
        return {
            ok: false,
            reason: `reasoning_tokens (${reasoning}) exceed output_tokens (${output}); output_tokens must include reasoning`,
        };
    const eventAt = new Date(event.timestamp as string);
    const year = eventAt.getUTCFullYear();
    if (year < 2000 || year > 2100) return { ok: false, reason: `field "timestamp" is out of range (${event.timestamp as string})` };
    return { ok: true, event, version, unknownVersion: version > LATEST_SCHEMA_VERSION, eventAt };
}

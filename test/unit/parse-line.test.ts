import { describe, expect, it } from 'vitest';
import { RAW_COPY_COLUMNS } from '../../pipelines/ingest/contract/raw-columns.js';
import { copyText, type LineOutcome, lineContext, parseLine } from '../../pipelines/ingest/parse-line.js';
import { PiiScrubber } from '../../pipelines/ingest/scrub-pii.js';

const scrubber = () => lineContext(new PiiScrubber({ keepText: false, userIdHmacKey: undefined }));
const line = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const base = {
    schema_version: 1,
    request_id: 'r1',
    timestamp: '2026-11-02T10:00:00Z',
    provider: 'openai',
    model: 'gpt-4o',
    input_tokens: 100,
    output_tokens: 20,
    status: 'ok',
};

function reason(v: unknown): string {
    const out = parseLine(line(v), scrubber());
    if (out.kind !== 'bad') throw new Error(`expected a quarantined line, got ${out.kind}`);
    return out.reason;
}

/** The COPY row as column -> text value (\N = NULL), by the loader's column list after file_id, line_no. */
function columns(out: LineOutcome): Record<string, string> {
    if (out.kind !== 'event') throw new Error(`expected an event, got ${out.kind}${out.kind === 'bad' ? `: ${out.reason}` : ''}`);
    const values = out.copyRow.split('\t');
    const names = RAW_COPY_COLUMNS.slice(2, -2); // the loader adds record_no and record_id after the row
    expect(values).toHaveLength(names.length);
    return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

describe('a line becomes blank, quarantined, or one COPY row', () => {
    it('blank lines, with or without spaces or a CR, are blank', () => {
        for (const text of ['', '   ', '\r', ' \t ']) expect(parseLine(Buffer.from(text), scrubber())).toEqual({ kind: 'blank' });
    });

    it('normalises a BOM and a CRLF line end instead of rejecting them', () => {
        const c = columns(parseLine(Buffer.from(`\uFEFF${JSON.stringify(base)}\r`), scrubber()));
        expect(c.request_id).toBe('r1');
    });

    it('quarantines what is not UTF-8, not JSON or not an object, with the reason', () => {
        expect(parseLine(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), scrubber())).toMatchObject({ kind: 'bad', reason: 'line is not valid UTF-8' });
        // A real U+FFFD in valid UTF-8 is fine: only invalid bytes are refused.
        expect(columns(parseLine(line({ ...base, team: 'a\uFFFDb' }), scrubber())).team).toBe('a\uFFFDb');
        expect(reason('{"schema_version":1,')).toMatch(/^invalid JSON: /);
        expect(reason('[1,2]')).toBe('line is JSON but not an object');
        expect(reason('null')).toBe('line is JSON but not an object');
        expect(reason('"text"')).toBe('line is JSON but not an object');
    });

    it('checks schema_version, the required fields, types and ranges', () => {
        const { schema_version: _v, ...noVersion } = base;
        expect(reason(noVersion)).toBe('missing required field "schema_version"');
        expect(reason({ ...base, schema_version: '1' })).toBe('field "schema_version" must be an integer >= 1');
        expect(reason({ ...base, schema_version: 0 })).toBe('field "schema_version" must be an integer >= 1');
        expect(reason({ ...base, schema_version: 1.5 })).toBe('field "schema_version" must be an integer >= 1');
        for (const field of ['request_id', 'timestamp', 'provider', 'model', 'input_tokens', 'output_tokens', 'status']) {
            const ev: Record<string, unknown> = { ...base };
            delete ev[field];
            expect(reason(ev)).toBe(`missing required field "${field}"`);
        }
        expect(reason({ ...base, input_tokens: '12' })).toBe('field "input_tokens" must be integer');
        expect(reason({ ...base, output_tokens: -3 })).toBe('field "output_tokens" is negative');
        expect(reason({ ...base, cache_read_tokens: -1 })).toBe('field "cache_read_tokens" is negative');
        expect(reason({ ...base, latency_ms: -1 })).toBe('field "latency_ms" must be >= 0');
        expect(reason({ ...base, status: 'fine' })).toBe('field "status" must be equal to one of the allowed values');
        expect(reason({ ...base, request_id: '' })).toBe('field "request_id" must NOT have fewer than 1 characters');
        expect(reason({ ...base, eval_scores: { relevance: 1.5 } })).toBe('field "eval_scores.relevance" must be <= 1');
    });

    it('from v3, an agent step needs no provider, model or tokens; a model call (of any version) still does', () => {
        const step = { schema_version: 3, request_id: 's1', timestamp: '2026-11-02T10:00:00Z', status: 'ok', task_id: 't1' };
        for (const operation of ['invoke_agent', 'execute_tool']) {
            const row = columns(parseLine(line({ ...step, operation, tool_name: 'search' }), scrubber()));
            expect([row.operation, row.provider, row.model, row.input_tokens, row.output_tokens]).toEqual([operation, '\\N', '\\N', '\\N', '\\N']);
        }
        expect(reason({ ...step, operation: 'chat' })).toBe('missing required field "provider"');
        expect(reason(step)).toBe('missing required field "provider"');
        expect(reason({ ...step, schema_version: 2, operation: 'execute_tool' })).toBe('missing required field "provider"');
        // A step that does carry tokens is checked like a call.
        expect(reason({ ...step, operation: 'invoke_agent', input_tokens: 10, cache_read_tokens: 20 })).toMatch(
            /^cache_read_tokens \+ cache_write_tokens \(20\) exceed input_tokens \(10\)/,
        );
    });

    it('refuses a timestamp without an offset, unparseable or out of range', () => {
        const msg = 'field "timestamp" is not an RFC 3339 date-time with offset (e.g. 2026-11-23T14:05:00Z)';
        expect(reason({ ...base, timestamp: '2026-11-02T10:00:00' })).toBe(msg);
        expect(reason({ ...base, timestamp: '02/11/2026 10:00' })).toBe(msg);
        expect(reason({ ...base, timestamp: '2026-13-02T10:00:00Z' })).toBe(msg);
        expect(reason({ ...base, timestamp: '1999-12-31T23:59:59Z' })).toBe('field "timestamp" is out of range (1999-12-31T23:59:59Z)');
        expect(reason({ ...base, timestamp: '2101-01-01T00:00:00Z' })).toBe('field "timestamp" is out of range (2101-01-01T00:00:00Z)');
        expect(columns(parseLine(line({ ...base, timestamp: '2000-01-01T00:00:00Z' }), scrubber())).event_at).toBe('2000-01-01T00:00:00.000Z');
        expect(columns(parseLine(line({ ...base, timestamp: '2100-12-31T23:59:59Z' }), scrubber())).event_at).toBe('2100-12-31T23:59:59.000Z');
        // Fractions of a second, any number of digits, and a lower-case t and z.
        expect(columns(parseLine(line({ ...base, timestamp: '2026-11-02T10:00:00.123Z' }), scrubber())).event_at).toBe('2026-11-02T10:00:00.123Z');
        expect(columns(parseLine(line({ ...base, timestamp: '2026-11-02t10:00:00.123456-05:30' }), scrubber())).event_at).toBe('2026-11-02T15:30:00.123Z');
        expect(columns(parseLine(line({ ...base, timestamp: '2026-11-02 10:00:00z' }), scrubber())).event_at).toBe('2026-11-02T10:00:00.000Z');
        expect(reason({ ...base, timestamp: '2026-11-02T10:00:00.Z' })).toBe(msg);
        expect(reason({ ...base, timestamp: 1_700_000_000 })).toBe('field "timestamp" must be string');
    });

    it('refuses token parts larger than their totals (a token would be counted twice)', () => {
        expect(reason({ ...base, input_tokens: 10, cache_read_tokens: 6, cache_write_tokens: 5 })).toBe(
            'cache_read_tokens + cache_write_tokens (11) exceed input_tokens (10); input_tokens must include cached tokens',
        );
        expect(columns(parseLine(line({ ...base, input_tokens: 11, cache_read_tokens: 6, cache_write_tokens: 5 }), scrubber())).cache_read_tokens).toBe('6');
        expect(reason({ ...base, cache_write_tokens: 5, cache_write_1h_tokens: 6 })).toBe('cache_write_1h_tokens exceed cache_write_tokens');
        expect(reason({ ...base, cache_write_1h_tokens: 1 })).toBe('cache_write_1h_tokens exceed cache_write_tokens');
        expect(reason({ ...base, output_tokens: 20, reasoning_tokens: 21 })).toBe(
            'reasoning_tokens (21) exceed output_tokens (20); output_tokens must include reasoning',
        );
        expect(columns(parseLine(line({ ...base, output_tokens: 20, reasoning_tokens: 20 }), scrubber())).reasoning_tokens).toBe('20');
    });

    it('quarantines values Postgres cannot store, instead of failing the file', () => {
        expect(reason({ ...base, team: 'a\u0000b' })).toBe('a string contains a NUL character (\\u0000), which Postgres cannot store');
        expect(reason({ ...base, tags: { k: 'a\u0000b' } })).toBe('a string contains a NUL character (\\u0000), which Postgres cannot store');
        const lone = 'a string contains an unpaired UTF-16 surrogate, which UTF-8 cannot hold';
        const raw = (tail: string) =>
            `{"schema_version":1,"request_id":"r","timestamp":"2026-11-02T10:00:00Z","provider":"p","model":"m","input_tokens":1,"output_tokens":1,"status":"ok",${tail}}`;
        expect(reason(raw('"tags":{"k":"\\ud800x"}'))).toBe(lone); // a lone high surrogate in jsonb
        expect(reason(raw('"tags":{"k":"x\\udc00"}'))).toBe(lone); // a lone low one
        expect(reason(raw('"team":"x\\ud83d"'))).toBe(lone); // in a text column the driver would turn it into U+FFFD
        expect(reason(raw('"team":"\\ude00x"'))).toBe(lone);
        // A paired surrogate (an emoji), written raw or escaped, is fine; so are other escapes and
        // text that merely reads like an escape.
        expect(columns(parseLine(Buffer.from(raw('"team":"\\ud83d\\ude00","tags":{"k":"\\ud83d\\ude00"}')), scrubber()))).toMatchObject({
            team: '😀',
            tags: '{"k":"😀"}',
        });
        expect(columns(parseLine(line({ ...base, tags: { k: 'a\u0001b' } }), scrubber())).tags).toBe('{"k":"a\\\\u0001b"}');
        expect(columns(parseLine(line({ ...base, tags: { k: '\\u0000 and \\ud800' } }), scrubber())).tags).toBe('{"k":"\\\\\\\\u0000 and \\\\\\\\ud800"}');
    });
});

describe('errors that are not about the line', () => {
    it('are thrown, not quarantined: a bug must not hide as bad data', () => {
        const broken = {
            scrubString: () => {
                throw new Error('scrubber bug');
            },
            scrubValue: (v: unknown) => v,
            userId: (v: string) => v,
            text: () => null,
        } as unknown as PiiScrubber;
        expect(() => parseLine(line({ ...base, team: 'x' }), lineContext(broken))).toThrow('scrubber bug');
    });
});

describe('the COPY row', () => {
    it('has every contract column in order: values, NULLs, escapes, derived lengths, extras', () => {
        const ev = {
            ...base,
            timestamp: '2026-11-02T01:30:00+02:00',
            team: 'sup\tport\\x',
            feature: 'line1\nline2\r',
            latency_ms: 12.5,
            cache_hit: false,
            refusal: true,
            feedback: -1,
            prompt_text: 'hello there',
            completion_text: 'ok',
            eval_scores: { relevance: 0.5 },
            custom: 'kept',
        };
        const out = parseLine(line(ev), scrubber());
        expect(out).toMatchObject({ kind: 'event', unknownVersion: false, usageDate: '2026-11-01' }); // 01:30 at +02:00 is 23:30 UTC the day before
        const c = columns(out);
        expect(c.event_at).toBe('2026-11-01T23:30:00.000Z');
        expect(c.schema_version).toBe('1');
        expect(c.input_tokens).toBe('100');
        expect(c.team).toBe('sup\\tport\\\\x'); // COPY text format escapes
        expect(c.feature).toBe('line1\\nline2\\r');
        expect(c.latency_ms).toBe('12.5');
        expect(c.cache_hit).toBe('false');
        expect(c.refusal).toBe('true');
        expect(c.feedback).toBe('-1');
        expect(c.response_model).toBe('\\N');
        expect(c.prompt_text).toBe('\\N'); // dropped
        expect(c.completion_text).toBe('\\N');
        expect(c.prompt_chars).toBe('11');
        expect(c.completion_chars).toBe('2');
        expect(c.eval_scores).toBe('{"relevance":0.5}');
        expect(c.user_satisfaction_score).toBe('\\N');
        expect(c.extras).toBe('{"custom":"kept"}');
        expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
        expect(copyText('plain')).toBe('plain');
    });

    it('knows a field from the version that added it: v1 keeps a v2 field in extras, v2 types it, a newer version is reported', () => {
        const v1 = columns(parseLine(line({ ...base, user_satisfaction_score: 'great' }), scrubber()));
        expect(v1.user_satisfaction_score).toBe('\\N');
        expect(v1.extras).toBe('{"user_satisfaction_score":"great"}');
        expect(reason({ ...base, schema_version: 2, user_satisfaction_score: 9 })).toBe('field "user_satisfaction_score" must be <= 5');
        const v2 = columns(parseLine(line({ ...base, schema_version: 2, user_satisfaction_score: 4 }), scrubber()));
        expect([v2.user_satisfaction_score, v2.extras]).toEqual(['4', '\\N']);
        expect(parseLine(line({ ...base, schema_version: 2 }), scrubber())).toMatchObject({ kind: 'event', unknownVersion: false });
        const v9 = parseLine(line({ ...base, schema_version: 9, user_satisfaction_score: 5, region: 'eu' }), scrubber());
        expect(v9).toMatchObject({ kind: 'event', unknownVersion: true });
        expect(columns(v9).user_satisfaction_score).toBe('5');
        expect(columns(v9).extras).toBe('{"region":"eu"}');
    });

    it('applies the PII policy per field: kept identifiers, scanned free text, dropped or kept text, hashed users', () => {
        const ev = { ...base, request_id: 'jane@example.com', team: 'jane@example.com', user_id: 'jane@example.com', prompt_text: 'mail jane@example.com' };
        const plain = columns(parseLine(line(ev), scrubber()));
        expect(plain.request_id).toBe('jane@example.com'); // an identifier is never rewritten: it is the dedupe key
        expect(plain.team).toBe('[redacted:email]');
        expect(plain.user_id).toBe('[redacted:email]'); // no key: scanned like free text
        expect(plain.prompt_text).toBe('\\N');
        const keep = columns(parseLine(line(ev), lineContext(new PiiScrubber({ keepText: true, userIdHmacKey: 'secret-key' }))));
        expect(keep.prompt_text).toBe('mail [redacted:email]');
        // HMAC-SHA256("secret-key", "jane@example.com"), first 32 hex: `echo -n jane@example.com | openssl dgst -sha256 -hmac secret-key`
        expect(keep.user_id).toBe('u_b110db8f3c4f5c8d470c3fe53308ca38');
    });
});

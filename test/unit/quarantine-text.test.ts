import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { subjectHash } from '../../pipelines/ingest/forgotten.js';
import { lineContext, parseLine } from '../../pipelines/ingest/parse-line.js';
import { QUARANTINE_TEXT_LIMIT, quarantineText } from '../../pipelines/ingest/quarantine-text.js';
import { newReadStats, readLineBatches } from '../../pipelines/ingest/read-lines.js';
import { PiiScrubber } from '../../pipelines/ingest/scrub-pii.js';

const scrubber = (key?: string) => new PiiScrubber({ keepText: false, userIdHmacKey: key });
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

describe('what the quarantine keeps of a rejected line', () => {
    it('an object: the same policy as a loaded row (text dropped, scanned fields redacted, user hashed, ids kept)', () => {
        const line = {
            ...base,
            output_tokens: -1,
            prompt_text: 'call me at jane@example.com',
            team: 'a@b.io',
            user_id: 'alice',
            request_id: 'r@x.io',
            extra: { 'k@x.io': '10.0.0.1' },
        };
        expect(JSON.parse(quarantineText(scrubber('secret-key'), JSON.stringify(line), line))).toEqual({
            ...base,
            output_tokens: -1,
            request_id: 'r@x.io', // kept: identifiers are not scanned (README, Privacy)
            prompt_text: '[dropped: 27 chars]',
            team: '[redacted:email]',
            user_id: 'u_5c7dff8695e1bf7eab3bf03a9c7950b1', // openssl dgst -sha256 -hmac secret-key of "alice"
            extra: { '[redacted:email]': '[redacted:ip]' },
        });
    });

    it('a line that is not JSON: text fields dropped by pattern, the rest scanned, cut at the limit', () => {
        const text = '{"prompt_text": "mail jane@example.com", "team": "call +1 415 555 0134", broken';
        expect(quarantineText(scrubber(), text)).toBe('{"prompt_text":"[dropped]", "team": "call [redacted:phone]", broken');
        const long = quarantineText(scrubber(), `${'x'.repeat(5000)}`);
        expect(long).toBe(`${'x'.repeat(QUARANTINE_TEXT_LIMIT)}…[cut at ${QUARANTINE_TEXT_LIMIT} chars]`);
        expect(quarantineText(scrubber(), '[1, "a@b.io"]', [1, 'a@b.io'])).toBe('[1, "[redacted:email]"]');
        expect(quarantineText(scrubber(), 'plain')).toBe('plain');
    });

    it('a parsed line too deep to walk falls back to its text, scanned', () => {
        let deep: unknown = 'jane@example.com';
        for (let i = 0; i < 100; i++) deep = { a: deep };
        const text = JSON.stringify(deep);
        expect(quarantineText(scrubber(), text, deep)).toBe(text.replace('jane@example.com', '[redacted:email]'));
    });
});

describe('bounds and erasure at parse time', () => {
    it('cuts a dimension value to 200 characters, marks and counts it; leaves shorter ones', () => {
        const ctx = lineContext(scrubber());
        const out = parseLine(Buffer.from(JSON.stringify({ ...base, team: 't'.repeat(3000), feature: 'f'.repeat(200) })), ctx);
        expect(out.kind).toBe('event');
        const cols = (out as { copyRow: string }).copyRow.split('\t');
        expect(cols).toContain(`${'t'.repeat(194)}…[cut]`);
        expect(cols).toContain('f'.repeat(200));
        expect(ctx.cutValues).toBe(1);
    });

    it('refuses nesting deeper than the limit with the reason, and keeps the line (scrubbed) for the quarantine', () => {
        let deep: unknown = 1;
        for (let i = 0; i < 2000; i++) deep = { a: deep };
        const out = parseLine(Buffer.from(JSON.stringify({ ...base, tags: deep })), lineContext(scrubber()));
        expect(out).toMatchObject({ kind: 'bad', reason: 'nested deeper than 64 levels' });
    });

    it('does not load the events of an erased user or tenant (by the hash of the identifier as sent)', () => {
        const forgotten = { users: new Set([subjectHash('user', 'alice')]), tenants: new Set([subjectHash('tenant', 'acme')]) };
        const ctx = lineContext(scrubber('secret-key'), forgotten);
        const parse = (ev: object) => parseLine(Buffer.from(JSON.stringify({ ...base, ...ev })), ctx).kind;
        expect(parse({ user_id: 'alice' })).toBe('forgotten');
        expect(parse({ tenant: 'acme' })).toBe('forgotten');
        expect(parse({ user_id: 'bob', tenant: 'globex' })).toBe('event');
        expect(parse({})).toBe('event');
        // sha256("user:alice"), by `printf user:alice | sha256sum`
        expect(subjectHash('user', 'alice')).toBe('dabd1db8d35ab13106274f61f1bf977812cce4f477b15014cf38fb796c50a4c4');
    });
});

describe('over-long lines', () => {
    it('are cut to their start and flagged with their length, without holding them whole; the next line is whole', async () => {
        const long = 'x'.repeat(50_000);
        const input = Readable.from([
            Buffer.from('{"a":1}\n'),
            Buffer.from(long.slice(0, 20_000)),
            Buffer.from(`${long.slice(20_000)}\n{"b":2}\n`),
            Buffer.from(long),
        ]);
        const batches = [];
        for await (const b of readLineBatches(input, newReadStats(), 10_000)) batches.push(b);
        const lines = batches.flatMap((b) => b.lines.map((l, i) => ({ n: b.firstLineNo + i, head: l.toString().slice(0, 7), size: b.oversize?.get(i) })));
        expect(lines).toEqual([
            { n: 1, head: '{"a":1}', size: undefined },
            { n: 2, head: 'xxxxxxx', size: 50_000 },
            { n: 3, head: '{"b":2}', size: undefined },
            { n: 4, head: 'xxxxxxx', size: 50_000 },
        ]);
        expect(batches.flatMap((b) => b.lines).filter((l) => l.length > 10_000)).toEqual([]);
    });
});

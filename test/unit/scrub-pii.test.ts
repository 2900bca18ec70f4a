import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, PiiScrubber, TooDeep } from '../../pipelines/ingest/scrub-pii.js';

type Kind = 'email' | 'phone' | 'card' | 'api_key' | 'ip';
const corpus = JSON.parse(readFileSync(new URL('../fixtures/pii/leak-corpus.json', import.meta.url), 'utf8')) as Record<Kind, string[]>;
const falsePositives = (JSON.parse(readFileSync(new URL('../fixtures/pii/false-positives.json', import.meta.url), 'utf8')) as { values: string[] }).values;
// The part of a planted value that must go: glue before a key prefix ("token_", "key=") may stay.
const KEY_START = /(?:sk-|[sprk]k_|AKIA|ASIA|xox|gh[pousr]_|github_pat_|glpat-|AIza|eyJ|-----BEGIN)/;

const scrub = (text: string) => {
    const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
    return { out: s.scrubString(text), counts: s.counts };
};

describe('the corpora', () => {
    for (const kind of ['email', 'phone', 'card', 'api_key', 'ip'] as const) {
        it(`redacts every ${kind} of the leak corpus (${corpus[kind].length}), in a sentence, counted once`, () => {
            for (const value of corpus[kind]) {
                const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
                const glue = kind === 'api_key' ? value.slice(0, value.search(KEY_START)) : '';
                expect(s.scrubString(`before ${value} after`), value).toBe(`before ${glue}[redacted:${kind}] after`);
                expect(s.counts[kind], value).toBe(1);
            }
        });
    }

    it(`leaves the ${falsePositives.length} values of the false-positive corpus untouched`, () => {
        const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        for (const value of falsePositives) expect(s.scrubString(value)).toBe(value);
        expect(s.counts).toEqual({ email: 0, phone: 0, card: 0, api_key: 0, ip: 0 });
    });
});

describe('PII scanning of free text', () => {
    it('redacts each kind and counts it', () => {
        expect(scrub('write to jane.doe@example.com now')).toEqual({
            out: 'write to [redacted:email] now',
            counts: { email: 1, phone: 0, card: 0, api_key: 0, ip: 0 },
        });
        expect(scrub('key sk-proj-AbCdEfGhIjKlMnOpQrStUv123456 here').out).toBe('key [redacted:api_key] here');
        expect(scrub('AKIAIOSFODNN7EXAMPLE').out).toBe('[redacted:api_key]');
        expect(scrub('token xoxb-1234567890-abcdefghij').out).toBe('token [redacted:api_key]');
        expect(scrub('ghp_abcdefghijklmnopqrstuvwxyz0123456789').out).toBe('[redacted:api_key]');
        expect(scrub('AIzaSyA1234567890abcdefghijklmnopqrstuv').out).toBe('[redacted:api_key]');
        expect(scrub('card 4111 1111 1111 1111 ok').out).toBe('card [redacted:card] ok'); // the Visa test number passes Luhn
        expect(scrub('card 4111-1111-1111-1111').out).toBe('card [redacted:card]');
        expect(scrub('call +1 415 555 0134 today').out).toBe('call [redacted:phone] today');
        expect(scrub('from 192.168.10.44').out).toBe('from [redacted:ip]');
        expect(scrub('v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334').out).toBe('v6 [redacted:ip]');
        expect(scrub('two a.b@example.org and c@example.net').counts.email).toBe(2);
    });

    it('leaves alone what is not PII', () => {
        for (const text of [
            '4111 1111 1111 1112', // fails Luhn: not a card
            '2026-11-23T14:05:00Z',
            'req_20261123_000123',
            'gpt-4o-2024-08-06',
            'v1.2.3',
            '12345',
            '0.000125',
            'short',
            'plain words only',
        ]) {
            expect(scrub(text)).toEqual({ out: text, counts: { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 } });
        }
    });

    it('finds several values in one string, and a valid number inside a longer run of digits and spaces', () => {
        expect(scrub('call 415-555-0100 415-555-0199 or mail a@b.io').out).toBe('call [redacted:phone] [redacted:phone] or mail [redacted:email]');
        expect(scrub('4111 1111 1111 1111 5555 5555 5555 4444').out).toBe('[redacted:card] [redacted:card]');
        expect(scrub('::ffff:192.0.2.128 and 10.0.0.1.').out).toBe('[redacted:ip] and [redacted:ip].');
    });

    it('takes a key for a key only when its body is random', () => {
        expect(scrub('task-classification-pipeline-2024').out).toBe('task-classification-pipeline-2024');
        expect(scrub('sk-AbCdEfGhIjKlMnOp12345678').out).toBe('[redacted:api_key]');
        expect(scrub('sk-abcdefghijklmnop12345678').out).toBe('sk-abcdefghijklmnop12345678'); // no upper case: not random
        expect(scrub('sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ').out).toBe('sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    });

    it('bounds the work a hostile value can cause, and fails closed past the bound', () => {
        const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        // 100 digit runs libphonenumber rejects (a bare 12 digits) use up the 64 validations; the phone
        // number after them is still redacted, because past the bound every candidate is.
        const junk = Array.from({ length: 100 }, (_, i) => String(100_000_000_000 + i)).join(' x ');
        const out = s.scrubString(`${junk} call +33 1 23 45 67 89, mail jane@example.com`);
        expect(out).toMatch(/ call \[redacted:phone\], mail \[redacted:email\]$/);
        expect(out.startsWith('100000000000 x 100000000001 x ')).toBe(true); // the first ones were checked and kept
        expect(s.counts.phone).toBe(100 - 64 + 1);
    });

    it('finds an IPv6 address whatever hex digits touch its colons', () => {
        for (const ip of [
            '0:0:0:0:0:0:0:1',
            '9:9:9:9:9:9:9:9',
            '1A:A1:1A:A1:1A:A1:1A:A1',
            '1F:F1:1F:F1:1F:F1:1F:F1',
            '1a:a1:1a:a1:1a:a1:1a:a1',
            '1f:f1:1f:f1:1f:f1:1f:f1',
        ])
            expect(scrub(`peer ${ip} closed`).out, ip).toBe('peer [redacted:ip] closed');
        expect(scrub('fe80::1%eth0 up').out).toBe('[redacted:ip] up');
        expect(scrub('1G:G1:1G:G1:1G:G1:1G:G1').out).toBe('1G:G1:1G:G1:1G:G1:1G:G1');
    });

    it('keeps decimals and numbers dotted in two or three places, but not a French number dotted in four', () => {
        expect(scrub('06.12.34.56.78').out).toBe('[redacted:phone]');
        expect(scrub('1234567.891').out).toBe('1234567.891');
        expect(scrub('12.345.678.901').out).toBe('12.345.678.901');
        expect(scrub('+1 415 555 01').out).toBe('+1 415 555 01'); // too short for any plan
        expect(scrub('+1 415 555 0134 5678 9012').out).toBe('+1 415 555 0134 5678 9012'.replace('+1 415 555 0134', '[redacted:phone]'));
    });

    it('scans nested values and object keys', () => {
        const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        expect(s.scrubValue({ 'jane@example.com': ['call +1 415 555 0134', 7, null, true], nested: { ip: '10.0.0.1' } })).toEqual({
            '[redacted:email]': ['call [redacted:phone]', 7, null, true],
            nested: { ip: '[redacted:ip]' },
        });
        expect(s.counts).toEqual({ email: 1, phone: 1, card: 0, api_key: 0, ip: 1 });
    });

    it(`refuses nesting deeper than ${MAX_DEPTH} levels instead of exhausting the stack`, () => {
        const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        let ok: unknown = 1;
        for (let i = 0; i < MAX_DEPTH; i++) ok = i % 2 ? [ok] : { a: ok };
        expect(() => s.scrubValue(ok)).not.toThrow();
        expect(() => s.scrubValue({ wrap: ok })).toThrow(TooDeep);
        expect(() => s.scrubValue({ wrap: ok })).toThrow(`nested deeper than ${MAX_DEPTH} levels`);
    });

    it('hashes user ids with the key (else scans them), and drops text unless asked to keep it', () => {
        const keyed = new PiiScrubber({ keepText: true, userIdHmacKey: 'secret-key' });
        // echo -n alice | openssl dgst -sha256 -hmac secret-key -> 5c7dff8695e1bf7eab3bf03a9c7950b1...
        expect(keyed.userId('alice')).toBe('u_5c7dff8695e1bf7eab3bf03a9c7950b1');
        expect(keyed.text('mail jane@example.com')).toBe('mail [redacted:email]');
        const plain = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        expect(plain.userId('jane@example.com')).toBe('[redacted:email]');
        expect(plain.userId('user_42')).toBe('user_42');
        expect(plain.text('anything')).toBeNull();
    });
});

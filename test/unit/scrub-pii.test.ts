import { describe, expect, it } from 'vitest';
import { PiiScrubber } from '../../pipelines/ingest/scrub-pii.js';

const scrub = (text: string) => {
    const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
    return { out: s.scrubString(text), counts: s.counts };
};

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

    it('scans nested values and object keys', () => {
        const s = new PiiScrubber({ keepText: false, userIdHmacKey: undefined });
        expect(s.scrubValue({ 'jane@example.com': ['call +1 415 555 0134', 7, null, true], nested: { ip: '10.0.0.1' } })).toEqual({
            '[redacted:email]': ['call [redacted:phone]', 7, null, true],
            nested: { ip: '[redacted:ip]' },
        });
        expect(s.counts).toEqual({ email: 1, phone: 1, card: 0, api_key: 0, ip: 1 });
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

import { createHmac } from 'node:crypto';

/**
 * PII scrubbing, applied before anything lands in Postgres. Which fields are scanned, hashed, kept or
 * dropped is the contract's PII policy (contract/event-fields.ts); this module does the scanning:
 * emails, phone numbers, card numbers (Luhn-checked), API keys and IP addresses are redacted.
 */
export type RedactionKind = 'email' | 'phone' | 'card' | 'api_key' | 'ip';

export interface ScrubOptions {
    readonly keepText: boolean;
    readonly userIdHmacKey: string | undefined;
}

const PATTERNS: ReadonlyArray<readonly [RedactionKind, RegExp]> = [
    ['api_key', /\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{30,})/g],
    ['email', /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g],
    ['card', /\b\d(?:[ -]?\d){12,18}\b/g],
    [
        'ip',
        /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4}\b/g,
    ],
    // Not part of a longer digit run (an order number is not a phone number).
    ['phone', /(?<!\d[ .-]?)(?:(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\b\d{2,4})[ .-]\d{3,4}[ .-]\d{3,4}\b|\+\d{10,15}\b)(?![ .-]?\d)/g],
];
// Cheap pre-check: most strings are short identifiers with none of these shapes. Every pattern
// needs an '@' or ':' or a key prefix, or at least four digits (the shortest IPv4 address).
const KEYISH = /[@:]|sk-|AKIA|xox|AIza|gh[pousr]_/;
function mayContainPii(text: string): boolean {
    if (text.length < 7) return false;
    if (KEYISH.test(text)) return true;
    let digits = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 48 && c <= 57 && ++digits >= 4) return true;
    }
    return false;
}

function luhn(digits: string): boolean {
    let sum = 0;
    let double = false;
    for (let i = digits.length - 1; i >= 0; i--) {
        let d = digits.charCodeAt(i) - 48;
        if (double) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        double = !double;
    }
    return sum % 10 === 0;
}

export class PiiScrubber {
    readonly counts: Record<RedactionKind, number> = { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 };
    constructor(private readonly options: ScrubOptions) {}

    scrubString(text: string): string {
        if (!mayContainPii(text)) return text;
        let out = text;
        for (const [kind, re] of PATTERNS) {
            out = out.replace(re, (match) => {
                if (kind === 'card' && !luhn(match.replace(/[ -]/g, ''))) return match;
                this.counts[kind]++;
                return `[redacted:${kind}]`;
            });
        }
        return out;
    }

    /** Scrubs every string (keys included) inside a nested value. */
    scrubValue(value: unknown): unknown {
        if (typeof value === 'string') return this.scrubString(value);
        if (Array.isArray(value)) return value.map((v) => this.scrubValue(v));
        if (value !== null && typeof value === 'object') {
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(value)) out[this.scrubString(k)] = this.scrubValue(v);
            return out;
        }
        return value;
    }

    /** user_id: a keyed hash when a key is configured, else scanned like any free text. */
    userId(value: string): string {
        if (this.options.userIdHmacKey) return `u_${createHmac('sha256', this.options.userIdHmacKey).update(value).digest('hex').slice(0, 32)}`;
        return this.scrubString(value);
    }

    /** prompt_text / completion_text: dropped unless keepText (then scrubbed); the caller keeps the length. */
    text(value: string): string | null {
        return this.options.keepText ? this.scrubString(value) : null;
    }
}

import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { isPossiblePhoneNumber, isValidPhoneNumber } from 'libphonenumber-js/max';

/**
 * PII scrubbing, applied before anything lands in Postgres or on disk. Which fields are scanned,
 * hashed, kept or dropped is the contract's PII policy (contract/event-fields.ts); this module
 * finds and redacts, in free text: API keys and tokens, emails (IDN and short domains too), IP
 * addresses (every IPv4 and IPv6 form), card numbers (any separator, Luhn-checked) and phone
 * numbers (international and national formats of 30 countries, checked with libphonenumber).
 * Candidates are found by pattern and then validated, so a date, an id or a price is left alone.
 */
export type RedactionKind = 'email' | 'phone' | 'card' | 'api_key' | 'ip';

export interface ScrubOptions {
    readonly keepText: boolean;
    readonly userIdHmacKey: string | undefined;
}

/** Nested values deeper than this are refused: they would exhaust a stack somewhere downstream. */
export const MAX_DEPTH = 64;

export class TooDeep extends Error {
    constructor() {
        super(`nested deeper than ${MAX_DEPTH} levels`);
    }
}

// Countries whose national formats are recognised without a "+" (an E.164 number is recognised for
// every country). Order does not matter: a candidate valid in any of them is a phone number.
const COUNTRIES = [
    'US',
    'CA',
    'GB',
    'IE',
    'FR',
    'DE',
    'AT',
    'CH',
    'BE',
    'NL',
    'LU',
    'ES',
    'PT',
    'IT',
    'SE',
    'NO',
    'DK',
    'FI',
    'PL',
    'CZ',
    'JP',
    'KR',
    'CN',
    'IN',
    'SG',
    'AU',
    'NZ',
    'BR',
    'MX',
    'ZA',
] as const;

// A key's body is random: upper and lower case letters and digits all appear, which a word with a
// dash in it ("task-classification-2024") does not have.
const KEY =
    /(?:sk-(?:ant-|proj-|svcacct-)?|(?:sk|rk|pk)_(?:live|test)_|xox[abposr]-|gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;
const EMAIL = /(?<![\p{L}\p{N}._%+'-])[\p{L}\p{N}._%+'-]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+(?:\p{L}{2,}|xn--[a-z0-9-]+)(?![\p{L}\p{N}])/giu;
const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?:%[\w.-]+)?(?![\w:]|\.\d)/g;
const CARD = /(?<![\w.])\d(?:[ ./-]?\d){12,18}(?![\w]|[./-]\d)/g;
// A phone candidate: an optional + or 00, then 7 to 15 digits in groups (spaces, dots, dashes,
// parentheses), not glued to a letter, digit, dash or colon (an id like ord-84512367 is not a phone,
// nor is the date and hour of "2026-11-23 10:00").
const PHONE = /(?<![\w+.:-])(?:\+|00)?\(?\d[\d ().-]{5,22}\d(?![\w]|[.:-]\d)/g;
// Shapes that are never phone numbers: decimals, and numbers dotted in two or three places (versions,
// thousands). Four dots is how France writes a number (06.12.34.56.78). Dates and times need no
// rule: they have too few digits for a national number.
const NOT_PHONE = /^(?:\d+\.\d+|\d{1,3}(?:\.\d{1,3}){2,3})$/;

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

/** sk- keys could be mistaken for "task-..." text: their random body mixes cases and digits. */
function keyLike(match: string): boolean {
    const sk = /^(?:sk-(?:ant-|proj-|svcacct-)?|(?:sk|rk|pk)_(?:live|test)_)/.exec(match);
    if (!sk) return true; // the other prefixes are distinctive on their own
    const body = match.slice(sk[0].length);
    return /[A-Z]/.test(body) && /[a-z]/.test(body) && /\d/.test(body);
}

function phoneLike(match: string): boolean {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15 || NOT_PHONE.test(match)) return false;
    // With a country code, a possible length is enough: ranges reserved for drama and examples
    // (UK 07700 900xxx) are not "valid" to libphonenumber, but they are written like real numbers.
    if (match.startsWith('+')) return isPossiblePhoneNumber(match);
    if (match.startsWith('00')) return isPossiblePhoneNumber(`+${match.slice(2)}`);
    // National formats: 9 to 11 digits in groups (ES, FR, US, IN, ...), or a trunk 0 and up to 12
    // (DE, AT, ...). A bare run of digits only at 10 or 11: shorter runs are ids and counts far more
    // often than numbers. This keeps the per-country check for likely candidates.
    const bare = /^\d+$/.test(match);
    const national = bare
        ? digits.length === 10 || digits.length === 11
        : digits.length >= 9 && (digits.length <= 11 || (digits.startsWith('0') && digits.length <= 12));
    if (!national) return false;
    // Numbers are written in groups of two or more digits; only a leading country or trunk digit
    // stands alone ("1-415-555-0199"). "1 2 3 4 5 6 7 8 9" is a list, not a number.
    const groups = match.split(/[ ().-]+/).filter(Boolean);
    if (groups.slice(1).some((g) => g.length === 1)) return false;
    return COUNTRIES.some((country) => isValidPhoneNumber(match, country));
}

/** What a string has, found in one pass: which rules can possibly match it. */
interface Traits {
    readonly at: boolean;
    /** A colon between hex digits, or a double colon: the only way an IPv6 address is written. */
    readonly hexColon: boolean;
    /** Four digits or more (the shortest IPv4 address has four). */
    readonly digits: boolean;
    readonly keyPrefix: boolean;
}

const KEY_PREFIX = /sk-|[sprk]k_|AKIA|ASIA|xox|AIza|gh[pousr]_|github_pat_|glpat-|eyJ|-----BEGIN/;

function isHex(c: number): boolean {
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function traitsOf(text: string): Traits {
    let digits = 0;
    let at = false;
    let hexColon = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 48 && c <= 57) digits++;
        else if (c === 64) at = true;
        else if (c === 58 && !hexColon) {
            const before = text.charCodeAt(i - 1);
            const after = text.charCodeAt(i + 1);
            hexColon = after === 58 || (isHex(before) && isHex(after));
        }
    }
    return { at, hexColon, digits: digits >= 4, keyPrefix: KEY_PREFIX.test(text) };
}

interface Rule {
    readonly kind: RedactionKind;
    readonly re: RegExp;
    readonly valid?: (match: string) => boolean;
    /** A failed candidate may hold a valid one up to a space ("415-555-0100 415-555-0199"). */
    readonly shorten?: boolean;
    /** What the text must have for the rule to run at all. */
    readonly needs: keyof Traits;
}

const RULES: readonly Rule[] = [
    { kind: 'api_key', re: KEY, valid: keyLike, needs: 'keyPrefix' },
    { kind: 'email', re: EMAIL, needs: 'at' },
    // `a::b` is IPv6 syntax but C++ and Rust paths too: an address has a digit somewhere.
    { kind: 'ip', re: IPV6, valid: (m) => /\d/.test(m) && isIP(m.replace(/%.*$/, '')) === 6, needs: 'hexColon' },
    { kind: 'ip', re: IPV4, valid: (m) => isIP(m) === 4, needs: 'digits' },
    { kind: 'card', re: CARD, valid: (m) => luhn(m.replace(/\D/g, '')), shorten: true, needs: 'digits' },
    { kind: 'phone', re: PHONE, valid: phoneLike, shorten: true, needs: 'digits' },
];

/** Validations a rule makes at most in one string: a bound on the work a hostile value can cause. */
const MAX_CHECKS = 64;

/** The longest prefix of a failed candidate, cut at a space, that the rule accepts. */
function validPrefix(candidate: string, valid: (m: string) => boolean): string | undefined {
    for (let at = candidate.lastIndexOf(' '); at > 0; at = candidate.lastIndexOf(' ', at - 1)) {
        const prefix = candidate.slice(0, at).trimEnd();
        if (/\d$/.test(prefix) && valid(prefix)) return prefix;
    }
    return undefined;
}

export class PiiScrubber {
    readonly counts: Record<RedactionKind, number> = { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 };
    constructor(private readonly options: ScrubOptions) {}

    scrubString(text: string): string {
        if (text.length < 3) return text;
        const traits = traitsOf(text);
        let out = text;
        // Traits of the original text: a redaction only removes what later rules look for.
        for (const rule of RULES) if (traits[rule.needs]) out = this.redact(out, rule);
        return out;
    }

    private redact(text: string, { kind, re, valid, shorten }: Rule): string {
        let out = '';
        let last = 0;
        let checks = 0;
        // Past the bound, candidates are redacted unvalidated: a pathological value loses some text
        // rather than leaking what follows the junk (fail closed).
        const check = valid && ((m: string) => ++checks > MAX_CHECKS || valid(m));
        re.lastIndex = 0;
        for (let m = re.exec(text); m; m = re.exec(text)) {
            let hit: string | undefined = m[0];
            if (check && !check(hit)) hit = shorten ? validPrefix(hit, check) : undefined;
            if (hit === undefined) {
                re.lastIndex = m.index + 1; // a valid candidate may start later inside this one
                continue;
            }
            this.counts[kind]++;
            out += `${text.slice(last, m.index)}[redacted:${kind}]`;
            last = m.index + hit.length;
            re.lastIndex = last;
        }
        return last === 0 ? text : out + text.slice(last);
    }

    /** Scrubs every string (keys included) inside a nested value; refuses nesting deeper than MAX_DEPTH. */
    scrubValue(value: unknown, depth = 0): unknown {
        if (typeof value === 'string') return this.scrubString(value);
        if (value === null || typeof value !== 'object') return value;
        if (depth >= MAX_DEPTH) throw new TooDeep();
        if (Array.isArray(value)) return value.map((v) => this.scrubValue(v, depth + 1));
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[this.scrubString(k)] = this.scrubValue(v, depth + 1);
        return out;
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

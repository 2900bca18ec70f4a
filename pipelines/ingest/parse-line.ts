import { checkEvent } from './contract/event-contract.js';
import { DERIVED_COLUMNS, EVENT_FIELDS, type EventField } from './contract/event-fields.js';
import { fieldsOf, LATEST_SCHEMA_VERSION } from './contract/event-schema.js';
import { type ForgottenSubjects, isForgotten } from './forgotten.js';
import { quarantineText } from './quarantine-text.js';
import { type PiiScrubber, TooDeep } from './scrub-pii.js';

export type LineOutcome =
    | { readonly kind: 'blank' }
    /** `text`: the line as ops.quarantine keeps it, scrubbed (never the raw line). */
    | { readonly kind: 'bad'; readonly reason: string; readonly text: string }
    /** The event of an erased user or tenant: not loaded. */
    | { readonly kind: 'forgotten' }
    | { readonly kind: 'event'; readonly copyRow: string; readonly unknownVersion: boolean; readonly usageDate: string };

/** What parsing needs besides the line, and the counts it keeps. */
export interface LineContext {
    readonly scrubber: PiiScrubber;
    readonly forgotten?: ForgottenSubjects;
    /** The retention horizon (YYYY-MM-DD): an older event is not kept (see ops/retention.ts). */
    readonly notBefore?: string;
    /** Dimension values cut to their bound. */
    cutValues: number;
}

export function lineContext(scrubber: PiiScrubber, forgotten?: ForgottenSubjects, notBefore?: string): LineContext {
    return { scrubber, forgotten, notBefore, cutValues: 0 };
}

const BOM = '\uFEFF';
const NULL = '\\N';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// Postgres cannot hold NUL in text, and a lone UTF-16 surrogate cannot be written as UTF-8 (the
// driver would silently turn it into U+FFFD): such lines are quarantined with the reason, not lost
// and not silently altered. In JSON.stringify's output a character escape is a \uXXXX preceded
// by an even number of backslashes (\\ is an escaped backslash); it escapes NUL as \u0000 and a
// lone surrogate as \udXXX, while paired surrogates are written as they are.
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;
const ESCAPED_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const CUT_MARK = '…[cut]';
const NUL_REASON = 'a string contains a NUL character (\\u0000), which Postgres cannot store';
const SURROGATE_REASON = 'a string contains an unpaired UTF-16 surrogate, which UTF-8 cannot hold';

class Unstorable extends Error {}

/** ES2024 String methods (Node 20 has them; the TypeScript lib we target does not declare them). */
export type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string };

/** How each column is filled, from its type and the field's PII policy: decided once per version. */
type Fill = 'timestamp' | 'kept' | 'scanned' | 'hashed' | 'dropped' | 'json' | 'plain' | 'absent';
/** Parallel arrays, read by index: the row loop runs for every field of every event. */
interface Plan {
    readonly fills: readonly Fill[];
    /** Each field's bound (0 = none). */
    readonly maxes: readonly number[];
    /** Fields of this version, to their column's index: anything else in an event goes to extras. */
    readonly known: ReadonlyMap<string, number>;
    /** DERIVED_COLUMNS' source fields, undefined where this version has no such field. */
    readonly derivedFrom: readonly (string | undefined)[];
}

function fillOf(field: EventField): Fill {
    if (field.column === 'timestamptz') return 'timestamp';
    if (field.column === 'jsonb') return 'json'; // jsonb fields are scanned: a contract rule
    if (field.column !== 'text') return 'plain';
    return field.pii;
}

const PLANS: ReadonlyMap<number, Plan> = new Map(
    Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => {
        const version = i + 1;
        const active = new Set(fieldsOf(version).map((f) => f.name));
        const plan: Plan = {
            fills: EVENT_FIELDS.map((f) => (active.has(f.name) ? fillOf(f) : 'absent')),
            maxes: EVENT_FIELDS.map((f) => f.maxChars ?? 0),
            known: new Map(EVENT_FIELDS.flatMap((f, i) => (active.has(f.name) ? [[f.name, i] as const] : []))),
            derivedFrom: DERIVED_COLUMNS.map((d) => (active.has(d.from) ? d.from : undefined)),
        };
        return [version, plan] as const;
    }),
);

/** Escapes a value for COPY's text format. */
export function copyText(value: string): string {
    return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}

/** A dimension value cut to its bound, marked so that nobody reads it as the whole value. */
function bounded(value: string, max: number, ctx: LineContext): string {
    if (max === 0 || value.length <= max) return value;
    ctx.cutValues++;
    return `${value.slice(0, max - CUT_MARK.length)}${CUT_MARK}`;
}

function textValue(value: string): string {
    if (value.includes('\u0000')) throw new Unstorable(NUL_REASON);
    if (!(value as WellFormed).isWellFormed()) throw new Unstorable(SURROGATE_REASON);
    return copyText(value);
}

function jsonValue(value: unknown): string {
    const json = JSON.stringify(value);
    if (ESCAPED_NUL.test(json)) throw new Unstorable(NUL_REASON);
    if (ESCAPED_SURROGATE.test(json)) throw new Unstorable(SURROGATE_REASON);
    return copyText(json);
}

/** A decoded line: blank, not JSON (quarantined with the reason), or its JSON value and text. */
export type DecodedLine =
    | { readonly kind: 'blank' }
    | { readonly kind: 'bad'; readonly reason: string; readonly text: string }
    | { readonly kind: 'json'; readonly value: unknown; readonly text: string };

/**
 * Bytes -> a JSON value. A BOM is dropped and a CRLF line end is JSON whitespace: encoding
 * artefacts of the writer, not bad data.
 */
export function decodeLine(bytes: Buffer, scrubber: PiiScrubber): DecodedLine {
    let text = bytes.toString('utf8');
    if (text.includes('\uFFFD')) {
        try {
            strictUtf8.decode(bytes);
        } catch {
            return { kind: 'bad', reason: 'line is not valid UTF-8', text: quarantineText(scrubber, text) };
        }
    }
    if (text.startsWith(BOM)) text = text.slice(1);
    if (text.charCodeAt(0) !== 123 /* { */ && text.trim() === '') return { kind: 'blank' };
    try {
        return { kind: 'json', value: JSON.parse(text), text };
    } catch (err) {
        return { kind: 'bad', reason: `invalid JSON: ${(err as Error).message}`, text: quarantineText(scrubber, text) };
    }
}

/**
 * One native input line -> blank, quarantined (with the reason), or a COPY row for raw.events (the
 * contract columns and extras: everything after file_id and line_no).
 */
export function parseLine(bytes: Buffer, ctx: LineContext): LineOutcome {
    const decoded = decodeLine(bytes, ctx.scrubber);
    return decoded.kind === 'json' ? eventRow(decoded.value, decoded.text, ctx) : decoded;
}

/**
 * A contract event (a native line, or one mapped from another format) -> its COPY row, or the
 * reason it is quarantined. `text` is the line it came from, quarantined scrubbed.
 */
export function eventRow(value: unknown, text: string, ctx: LineContext): LineOutcome {
    const { scrubber } = ctx;
    const checked = checkEvent(value);
    if (!checked.ok) return { kind: 'bad', reason: checked.reason, text: quarantineText(scrubber, text, value) };
    const ev = checked.event;
    if (isForgotten(ctx.forgotten, ev)) return { kind: 'forgotten' };
    if (ctx.notBefore && checked.eventAt.toISOString().slice(0, 10) < ctx.notBefore) {
        const reason = `event of ${checked.eventAt.toISOString().slice(0, 10)} is before the retention horizon ${ctx.notBefore}: raw data that old is not kept (the marts keep that day)`;
        return { kind: 'bad', reason, text: quarantineText(scrubber, text, value) };
    }
    try {
        const plan = PLANS.get(Math.min(checked.version, LATEST_SCHEMA_VERSION))!;
        const eventAt = checked.eventAt.toISOString();
        const { fills, maxes, known } = plan;
        // The event's own keys, each looked up once (cheaper than reading every field by name).
        const values: unknown[] = new Array(fills.length);
        let extras: Record<string, unknown> | undefined;
        for (const key in ev) {
            const at = known.get(key);
            if (at !== undefined) values[at] = ev[key];
            else {
                extras ??= {};
                extras[scrubber.scrubString(key)] = scrubber.scrubValue(ev[key]);
            }
        }
        const cells: string[] = new Array(fills.length + plan.derivedFrom.length + 1);
        for (let i = 0; i < fills.length; i++) {
            const v = values[i];
            if (v === undefined || v === null) {
                cells[i] = NULL; // absent fields have no value here: they are not known
                continue;
            }
            switch (fills[i]) {
                case 'timestamp':
                    cells[i] = eventAt;
                    break;
                case 'kept':
                    cells[i] = textValue(bounded(v as string, maxes[i], ctx));
                    break;
                case 'scanned':
                    cells[i] = textValue(bounded(scrubber.scrubString(v as string), maxes[i], ctx));
                    break;
                case 'hashed':
                    cells[i] = textValue(bounded(scrubber.userId(v as string), maxes[i], ctx));
                    break;
                case 'json':
                    cells[i] = jsonValue(scrubber.scrubValue(v));
                    break;
                case 'dropped': {
                    const kept = scrubber.text(v as string);
                    cells[i] = kept === null ? NULL : textValue(kept);
                    break;
                }
                default:
                    cells[i] = String(v); // int, num, bool: bounded by the contract, so String() is plain
            }
        }
        let at = fills.length;
        for (const from of plan.derivedFrom) {
            const source = from === undefined ? undefined : ev[from];
            cells[at++] = typeof source === 'string' ? String(source.length) : NULL;
        }
        cells[at] = extras ? jsonValue(extras) : NULL;
        const row = cells.join('\t');
        return { kind: 'event', copyRow: row, unknownVersion: checked.unknownVersion, usageDate: eventAt.slice(0, 10) };
    } catch (err) {
        if (err instanceof Unstorable || err instanceof TooDeep) return { kind: 'bad', reason: err.message, text: quarantineText(scrubber, text, value) };
        throw err;
    }
}

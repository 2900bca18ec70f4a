import { checkEvent } from './contract/event-contract.js';
import type { PiiScrubber } from './scrub-pii.js';

export type LineOutcome =
    | { readonly kind: 'blank' }
    | { readonly kind: 'bad'; readonly reason: string }
    | { readonly kind: 'event'; readonly copyRow: string; readonly unknownVersion: boolean; readonly requestId: string };

const BOM = '\uFEFF';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// Postgres jsonb cannot hold NUL or unpaired UTF-16 surrogates: such lines are quarantined, not lost.
const NUL_ESCAPE = /\\u0000/;
const LONE_SURROGATE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

/** Escapes a value for COPY's text format. */
export function copyText(value: string): string {
    return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}

/**
 * One input line -> blank, quarantined (with the reason), or a COPY row for raw.events (after the
 * file_id and line number columns). BOMs and CRLF line ends are normalised, not rejected: they are
 * encoding artefacts of the writer, not bad data.
 */
export function parseLine(bytes: Buffer, scrubber: PiiScrubber): LineOutcome {
    let text = bytes.toString('utf8');
    if (text.includes('\uFFFD')) {
        try {
            strictUtf8.decode(bytes);
        } catch {
            return { kind: 'bad', reason: 'line is not valid UTF-8' };
        }
    }
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (text.startsWith(BOM)) text = text.slice(1);
    if (text.trim() === '') return { kind: 'blank' };
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (err) {
        return { kind: 'bad', reason: `invalid JSON: ${(err as Error).message}` };
    }
    const checked = checkEvent(value);
    if (!checked.ok) return { kind: 'bad', reason: checked.reason };
    const scrubbed = scrubber.scrub(checked.event);
    const payload = JSON.stringify(scrubbed.event);
    if (payload.includes('\\u')) {
        if (NUL_ESCAPE.test(payload)) return { kind: 'bad', reason: 'a string contains a NUL character (\\u0000), which Postgres cannot store' };
        if (LONE_SURROGATE.test(payload)) return { kind: 'bad', reason: 'a string contains an unpaired UTF-16 surrogate escape' };
    }
    const requestId = checked.event.request_id as string;
    const copyRow = [
        copyText(requestId),
        checked.eventAt.toISOString(),
        String(checked.version),
        scrubbed.promptChars === null ? '\\N' : String(scrubbed.promptChars),
        scrubbed.completionChars === null ? '\\N' : String(scrubbed.completionChars),
        copyText(payload),
    ].join('\t');
    return { kind: 'event', copyRow, unknownVersion: checked.unknownVersion, requestId };
}

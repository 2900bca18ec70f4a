import { EVENT_FIELDS } from './contract/event-fields.js';
import type { PiiScrubber } from './scrub-pii.js';

/** The longest quarantined line kept, in characters (the rest is cut, with a marker). */
export const QUARANTINE_TEXT_LIMIT = 2000;

const POLICY = new Map(EVENT_FIELDS.map((f) => [f.name, f.pii] as const));
// Text fields in a line that does not parse: drop their values as well as a pattern can.
const DROPPED_TEXT = new RegExp(
    `"(${EVENT_FIELDS.filter((f) => f.pii === 'dropped')
        .map((f) => f.name)
        .join('|')})"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"`,
    'g',
);

function cut(text: string): string {
    return text.length > QUARANTINE_TEXT_LIMIT ? `${text.slice(0, QUARANTINE_TEXT_LIMIT)}…[cut at ${QUARANTINE_TEXT_LIMIT} chars]` : text;
}

/**
 * What ops.quarantine keeps of a rejected line: the line scrubbed by the same policy as loaded rows
 * (text fields dropped, scanned fields redacted, user_id hashed when a key is set), never the raw
 * line. A line that is not an object, or not even JSON, is scanned as a whole after its text
 * fields are dropped by pattern.
 */
export function quarantineText(scrubber: PiiScrubber, text: string, parsed?: unknown): string {
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        try {
            const out: Record<string, unknown> = {};
            for (const [key, value] of Object.entries(parsed)) {
                const policy = POLICY.get(key);
                if (policy === 'dropped') out[key] = typeof value === 'string' ? `[dropped: ${value.length} chars]` : '[dropped]';
                else if (policy === 'hashed' && typeof value === 'string') out[key] = scrubber.userId(value);
                else if (policy === 'kept') out[key] = value;
                else out[scrubber.scrubString(key)] = scrubber.scrubValue(value);
            }
            return cut(JSON.stringify(out));
        } catch {
            // too deep to walk: fall through to the text
        }
    }
    const head = text.slice(0, QUARANTINE_TEXT_LIMIT * 2);
    return cut(scrubber.scrubString(head.includes('_text"') ? head.replace(DROPPED_TEXT, '"$1":"[dropped]"') : head));
}

import type { InputFormat } from './format.js';
import { compact, text } from './otlp-values.js';
import { bodyKind, fromBody, tokenFields } from './provider-response.js';

/**
 * OpenAI Batch API output files: one BatchRequestOutput per line ({id, custom_id, response:
 * {status_code, request_id, body}, error}; openai-openapi BatchRequestOutput). Every request is
 * on the batch tier, which the body does not say. The time is the body's `created`; a failed
 * request (status_code other than 200, or `error`) is an error with no tokens.
 */
// biome-ignore lint/suspicious/noExplicitAny: batch lines are untyped JSON read by key
type Json = Record<string, any>;

export const openaiBatch: InputFormat = {
    name: 'openai-batch',
    description: 'OpenAI Batch API output files (BatchRequestOutput per line)',
    detect: (record) => {
        const r = record as Json | null;
        return typeof r === 'object' && r !== null && typeof r.custom_id === 'string' && 'response' in r && String(r.id ?? '').startsWith('batch_req');
    },
    map(record) {
        const r = record as Json;
        const body: Json = r.response?.body ?? {};
        const kind = bodyKind(body);
        const summary = { id: r.id, custom_id: r.custom_id, status_code: r.response?.status_code };
        const ok = r.response?.status_code === 200 && !r.error && kind !== undefined;
        const b = ok ? fromBody(body, kind) : undefined;
        const created = b?.created;
        if (!ok || !b || created === undefined) {
            const why = r.error ? `failed (${text(r.error.code) ?? 'error'})` : `status ${r.response?.status_code ?? 'none'}`;
            return {
                events: [],
                skipped: 0,
                errors: [{ recordNo: 0, reason: `batch request ${r.custom_id} ${why}: no usage to load (the batch's error file has the reason)`, summary }],
            };
        }
        const event = compact({
            schema_version: 2,
            request_id: text(r.response?.request_id) ?? text(r.id),
            timestamp: new Date(created * 1000).toISOString(),
            provider: 'openai',
            model: b.model,
            response_model: b.model,
            operation: 'chat',
            ...tokenFields(b.tokens),
            service_tier: 'batch',
            status: 'ok',
            batch_custom_id: text(r.custom_id),
        });
        return { events: [{ event, recordNo: 0, recordId: text(r.id) }], skipped: 0, errors: [] };
    },
};

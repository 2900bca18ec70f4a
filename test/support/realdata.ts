import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** ../shared/realdata beside the project (CI has it); tests that need it say so when absent. */
export const realdataDir = fileURLToPath(new URL('../../../shared/realdata/', import.meta.url));
export const hasRealdata = existsSync(realdataDir);

/** Azure LLM inference trace (CRLF CSV, 7-digit fractions, no zone = UTC) -> contract events. */
export function azureTraceEvents(file: string, feature: string): Record<string, unknown>[] {
    const text = readFileSync(realdataDir + file, 'utf8');
    const rows = text
        .split('\r\n')
        .slice(1)
        .filter((l) => l.length > 0);
    return rows.map((row, i) => {
        const [ts, context, generated] = row.split(',');
        return {
            schema_version: 1,
            request_id: `azure_${feature}_${i}`,
            timestamp: `${ts.replace(' ', 'T').replace(/(\.\d{3})\d*$/, '$1')}Z`,
            provider: 'azure.ai.openai',
            model: 'gpt-4o',
            input_tokens: Number(context),
            output_tokens: Number(generated),
            status: 'ok',
            feature,
            team: 'azure-trace',
        };
    });
}

/** Mooncake (Kimi) trace: ms offsets from the trace start -> events starting at `startIso`. */
export function mooncakeEvents(startIso: string): Record<string, unknown>[] {
    const start = Date.parse(startIso);
    return gunzipSync(readFileSync(`${realdataDir}mooncake_conversation_trace.jsonl.gz`))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line, i) => {
            const r = JSON.parse(line) as { timestamp: number; input_length: number; output_length: number; hash_ids: number[] };
            // Each hash id is a 512-token block shared with earlier requests: a prefix-cache read.
            return {
                schema_version: 1,
                request_id: `mooncake_${i}`,
                timestamp: new Date(start + r.timestamp).toISOString(),
                provider: 'moonshot',
                model: 'kimi-k2',
                input_tokens: r.input_length,
                output_tokens: r.output_length,
                status: 'ok',
                feature: 'kimi-chat',
            };
        });
}

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * Real public data: the slices committed in test/fixtures/realdata (every CI), or the full files
 * when TOKENMART_REALDATA_DIR points at them (`npm run test:realdata` uses ../shared/realdata).
 * Expected counts and sums are literals computed outside tokenmart (see the PROVENANCE.md there).
 */
const fixtures = fileURLToPath(new URL('../fixtures/realdata/', import.meta.url));
const full = process.env.TOKENMART_REALDATA_DIR ? resolve(process.env.TOKENMART_REALDATA_DIR) : undefined;
export const realdataKind: 'slice' | 'full' = full ? 'full' : 'slice';

interface RealFile {
    readonly file: string;
    readonly rows: number;
    readonly input: number;
    readonly output: number;
}

const FILES: Readonly<Record<'azureCode' | 'azureConv' | 'mooncake', Readonly<Record<'slice' | 'full', RealFile>>>> = {
    azureCode: {
        slice: { file: 'azure_code_2023_first500.csv', rows: 500, input: 1_081_658, output: 12_040 },
        full: { file: 'AzureLLMInferenceTrace_code_2023.csv', rows: 8_819, input: 18_059_974, output: 245_896 },
    },
    azureConv: {
        slice: { file: 'azure_conv_2023_first500.csv', rows: 500, input: 467_684, output: 132_536 },
        full: { file: 'AzureLLMInferenceTrace_conv_2023.csv', rows: 19_366, input: 22_361_870, output: 4_088_665 },
    },
    mooncake: {
        slice: { file: 'mooncake_conversation_trace_first500.jsonl.gz', rows: 500, input: 7_124_855, output: 180_942 },
        full: { file: 'mooncake_conversation_trace.jsonl.gz', rows: 12_031, input: 144_793_823, output: 4_122_048 },
    },
};

/** The file of a data set in use, with its expected rows and token sums. */
export function realFile(name: keyof typeof FILES): RealFile & { readonly path: string } {
    const f = FILES[name][realdataKind];
    return { ...f, path: join(full ?? fixtures, f.file) };
}

/** The community price list: the committed subset, or the whole list. */
export const priceListPath = full ? join(full, 'litellm_model_prices_and_context_window.json.gz') : join(fixtures, 'litellm_model_prices_subset.json');

/** BurstGPT's first 33 rows (committed; the shared folder holds the same 33). */
export const burstGptPath = join(fixtures, 'burstgpt_1_first33_rows.csv');

/** Azure LLM inference trace (CRLF CSV, 7-digit fractions, no zone = UTC) -> contract events. */
export function azureTraceEvents(path: string, feature: string): Record<string, unknown>[] {
    const text = readFileSync(path, 'utf8');
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
export function mooncakeEvents(path: string, startIso: string): Record<string, unknown>[] {
    const start = Date.parse(startIso);
    return gunzipSync(readFileSync(path))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line, i) => {
            const r = JSON.parse(line) as { timestamp: number; input_length: number; output_length: number };
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

/** BurstGPT (seconds from the trace start): ChatGPT -> gpt-3.5-turbo, GPT-4 -> gpt-4; a row with no tokens at all is a failed request. */
export function burstGptEvents(startIso: string): Record<string, unknown>[] {
    const start = Date.parse(startIso);
    return readFileSync(burstGptPath, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((row, i) => {
            const [t, model, request, response, total] = row.split(',');
            return {
                schema_version: 1,
                request_id: `burstgpt_${i}`,
                timestamp: new Date(start + Number(t) * 1000).toISOString(),
                provider: 'openai',
                model: model === 'GPT-4' ? 'gpt-4' : 'gpt-3.5-turbo',
                input_tokens: Number(request),
                output_tokens: Number(response),
                status: Number(total) === 0 ? 'error' : 'ok',
                feature: 'burstgpt',
            };
        });
}

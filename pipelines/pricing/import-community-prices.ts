import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';
import { writeOutput } from '../util/output-file.js';
import { exactRatio, shift, toPlainDecimal } from './decimal.js';

/** The community list's provider names -> the OpenTelemetry gen_ai.system names events carry. */
const PROVIDERS: Readonly<Record<string, string>> = {
    openai: 'openai',
    text_completion_openai: 'openai',
    anthropic: 'anthropic',
    azure: 'azure.ai.openai',
    azure_ai: 'azure.ai.inference',
    bedrock: 'aws.bedrock',
    bedrock_converse: 'aws.bedrock',
    gemini: 'gcp.gemini',
    'vertex_ai-language-models': 'gcp.vertex_ai',
    'vertex_ai-anthropic_models': 'gcp.vertex_ai',
    'vertex_ai-mistral_models': 'gcp.vertex_ai',
    mistral: 'mistral_ai',
    deepseek: 'deepseek',
    groq: 'groq',
    cohere: 'cohere',
    cohere_chat: 'cohere',
    xai: 'xai',
    perplexity: 'perplexity',
    together_ai: 'together_ai',
    fireworks_ai: 'fireworks_ai',
};

/** One price seed row: seed column -> CSV cell ('' = empty). */
export type PriceRow = Readonly<Record<string, string>>;

type Entry = Record<string, unknown>;

export interface ImportResult {
    readonly rows: readonly PriceRow[];
    readonly skipped: number;
}

const perMtok = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? shift(toPlainDecimal(v), 6) : '');

function csvCell(v: string): string {
    return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Reads the community price list (USD per token; gzip or plain JSON) into price seed rows.
 * The list has no dates, so every row takes `effectiveFrom`. Tier multipliers are kept only when
 * input and output scale by the same short exact factor; otherwise that tier stays unpriced.
 */
export function importCommunityPrices(file: string, effectiveFrom: string): ImportResult {
    let buf: Buffer;
    try {
        buf = readFileSync(file);
    } catch {
        throw new UserError(`prices import: cannot read ${file}; pass the path of the price list JSON (optionally .gz)`);
    }
    if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
    let doc: Record<string, Entry>;
    try {
        doc = JSON.parse(buf.toString('utf8'));
    } catch (err) {
        throw new UserError(`prices import: ${file} is not JSON (${(err as Error).message}); pass the community model_prices_and_context_window.json`);
    }
    const rows: PriceRow[] = [];
    let skipped = 0;
    for (const [key, e] of Object.entries(doc)) {
        if (key === 'sample_spec' || typeof e !== 'object' || e === null) continue;
        const provider = PROVIDERS[String(e.litellm_provider)];
        const input = e.input_cost_per_token;
        const output = e.output_cost_per_token ?? 0;
        if (
            !provider ||
            typeof input !== 'number' ||
            typeof output !== 'number' ||
            (e.mode && !['chat', 'completion', 'embedding', 'responses'].includes(String(e.mode)))
        ) {
            skipped++;
            continue;
        }
        const model = key.includes('/') ? key.slice(key.lastIndexOf('/') + 1) : key;
        const tierKey = Object.keys(e).find((k) => /^input_cost_per_token_above_(\d+)k_tokens$/.test(k));
        const threshold = tierKey ? String(Number(/above_(\d+)k/.exec(tierKey)![1]) * 1000) : '';
        const suffix = tierKey ? tierKey.replace('input_cost_per_token', '') : '';
        const multiplier = (tier: string): string => {
            const i = e[`input_cost_per_token_${tier}`];
            const o = e[`output_cost_per_token_${tier}`];
            if (typeof i !== 'number') return '';
            const ri = exactRatio(i, input);
            const ro = typeof o === 'number' && output ? exactRatio(o, output) : ri;
            return ri !== undefined && ri === ro ? ri : '';
        };
        rows.push({
            provider,
            model,
            effective_from: effectiveFrom,
            input_per_mtok: perMtok(input),
            output_per_mtok: perMtok(output),
            cache_read_per_mtok: perMtok(e.cache_read_input_token_cost),
            cache_write_5m_per_mtok: perMtok(e.cache_creation_input_token_cost),
            cache_write_1h_per_mtok: perMtok(e.cache_creation_input_token_cost_above_1hr),
            reasoning_per_mtok: perMtok(e.output_cost_per_reasoning_token),
            long_context_threshold: threshold,
            lc_input_per_mtok: tierKey ? perMtok(e[tierKey]) : '',
            lc_output_per_mtok: tierKey ? perMtok(e[`output_cost_per_token${suffix}`]) : '',
            lc_cache_read_per_mtok: tierKey ? perMtok(e[`cache_read_input_token_cost${suffix}`]) : '',
            lc_cache_write_5m_per_mtok: tierKey ? perMtok(e[`cache_creation_input_token_cost${suffix}`]) : '',
            lc_cache_write_1h_per_mtok: tierKey ? perMtok(e[`cache_creation_input_token_cost_above_1hr${suffix}`]) : '',
            batch_multiplier: multiplier('batches'),
            flex_multiplier: multiplier('flex'),
            priority_multiplier: multiplier('priority'),
            source: `community price list: ${key}`,
        });
    }
    // One row per provider+model: the first key wins (the list repeats models under aliases).
    const seen = new Set<string>();
    const unique = rows.filter((r) => {
        const k = `${r.provider}\u0000${r.model}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
    });
    return { rows: unique, skipped: skipped + rows.length - unique.length };
}

/**
 * Writes rows in the column order the seed's YAML declares (models/seeds/_seeds.yml), so the
 * price columns are listed once. A declared column the importer does not fill is an error.
 */
export function writePriceCsv(path: string, rows: readonly PriceRow[], columns: readonly string[]): void {
    const unfilled = columns.filter((c) => rows.length && !(c in rows[0]));
    if (unfilled.length) {
        throw new UserError(
            `prices import: the seed declares ${unfilled.join(', ')}, which the importer does not fill; map it in pipelines/pricing/import-community-prices.ts`,
        );
    }
    const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
    writeOutput(path, `${lines.join('\n')}\n`, 'choose another --out or fix the folder');
}

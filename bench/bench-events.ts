import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { FEATURES } from '../pipelines/demo/demo-catalog.js';
import { Random } from '../pipelines/demo/random.js';

/**
 * The benchmarks' events: n realistic events (the demo's features and models) as gzip JSON Lines
 * in `files` files, one every 2.5 s from 2026-10-01 (1,000,000 events span 29 days). `firstId`
 * continues a series: the next events, on the next day.
 */
export function writeBenchEvents(dir: string, n: number, files: number, firstId = 0): void {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const rng = new Random(7 + firstId);
    const per = Math.ceil(n / files);
    let id = firstId;
    const end = firstId + n;
    for (let f = 0; f < files; f++) {
        const lines: string[] = [];
        for (let i = 0; i < per && id < end; i++, id++) {
            const spec = FEATURES[id % FEATURES.length];
            const m = spec.models[id % spec.models.length];
            const input = Math.round(rng.logNormal(spec.inputMedian, 0.5));
            lines.push(
                JSON.stringify({
                    schema_version: 2,
                    request_id: `bench_${id}`,
                    timestamp: new Date(Date.UTC(2026, 9, 1) + id * 2500).toISOString(),
                    provider: m.provider,
                    model: m.model,
                    operation: 'chat',
                    session_id: `s_${id % 5000}`,
                    user_id: `user_${id % 900}`,
                    team: spec.team,
                    feature: spec.feature,
                    tenant: 'acme',
                    environment: 'production',
                    prompt_version: 'v1',
                    input_tokens: input,
                    output_tokens: 200,
                    cache_read_tokens: Math.floor(input / 3),
                    reasoning_tokens: 50,
                    service_tier: 'standard',
                    latency_ms: Math.round(rng.logNormal(900, 0.5)),
                    time_to_first_token_ms: 200,
                    status: 'ok',
                    retry_attempt: 0,
                    cache_hit: false,
                    feedback: id % 9 === 0 ? 1 : null,
                    tags: { channel: 'web' },
                }),
            );
        }
        writeFileSync(join(dir, `part-${String(firstId + f).padStart(7, '0')}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`, { level: 1 }));
    }
}

/** One side of an ingest measurement in its own process, so its peak RSS is its own (ingest-child.ts). */
export function measureIngest(mode: 'tokenmart' | 'copy', url: string, dir: string): { rows: number; seconds: number; maxRssMb: number } {
    const child = join(fileURLToPath(new URL('.', import.meta.url)), 'ingest-child.js');
    const out = execFileSync(process.execPath, [child, mode, url, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return JSON.parse(out.trim().split('\n').pop()!);
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(label: string): string {
    return mkdtempSync(join(tmpdir(), `tokenmart-${label}-`));
}

/** A valid schema v1 event; override any field. */
export function event(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        schema_version: 1,
        request_id: `req_${n}`,
        timestamp: `2026-11-02T10:${String(n % 60).padStart(2, '0')}:00Z`,
        provider: 'openai',
        model: 'gpt-4o-mini',
        input_tokens: 1000 + n,
        output_tokens: 100,
        status: 'ok',
        team: 'support',
        feature: 'support-chat',
        ...overrides,
    };
}

export function jsonl(events: readonly unknown[]): string {
    return `${events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n')}\n`;
}

export function writeLog(dir: string, name: string, body: string, gzip = name.endsWith('.gz')): string {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, gzip ? gzipSync(body) : body);
    return path;
}

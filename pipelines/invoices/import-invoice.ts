import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type pg from 'pg';
import { UserError } from '../util/errors.js';
import { INVOICE_FORMATS } from './formats/invoice-formats.js';

export interface InvoiceImport {
    readonly file: string;
    readonly format: string;
    readonly status: 'imported' | 'replaced' | 'unchanged';
    readonly lines: number;
    readonly totalUsd: string;
    readonly providers: readonly string[];
}

/**
 * Loads one provider cost export into raw.invoice_lines, all or nothing: the same content again
 * changes nothing, a new version of the same file replaces the old one in one transaction.
 */
export async function importInvoice(pool: pg.Pool, path: string, options: { readonly format?: string } = {}): Promise<InvoiceImport> {
    const file = resolve(path);
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch (err) {
        throw new UserError(`invoices import: cannot read ${file} (${(err as { code?: string }).code ?? (err as Error).message}); check the path`);
    }
    const format = options.format ? INVOICE_FORMATS.find((f) => f.name === options.format) : INVOICE_FORMATS.find((f) => f.detect(text, file));
    if (!format)
        throw new UserError(
            `invoices import: ${file}: ${options.format ? `no format named ${options.format}` : 'not a known cost export'}; use --format ${INVOICE_FORMATS.map((f) => f.name).join(' | ')}`,
        );
    const parsed = format.parse(text);
    if (!parsed.ok) throw new UserError(`invoices import: ${file} (${format.name}), ${parsed.where}: ${parsed.reason}; fix the file and import it again`);
    if (!parsed.lines.length) throw new UserError(`invoices import: ${file} (${format.name}) holds no cost lines; export a period with costs`);
    const sha = createHash('sha256').update(text).digest('hex');
    const client = await pool.connect();
    try {
        await client.query('begin');
        const existing = await client.query<{ content_sha256: string }>('select content_sha256 from ops.invoice_files where source_uri = $1 for update', [
            file,
        ]);
        const total = await client.query<{ t: string }>('select coalesce(sum(x), 0)::text as t from unnest($1::numeric[]) as x', [
            parsed.lines.map((l) => l.amountUsd),
        ]);
        const providers = [...new Set(parsed.lines.map((l) => l.provider))].sort();
        if (existing.rows[0]?.content_sha256 === sha) {
            await client.query('rollback');
            return { file, format: format.name, status: 'unchanged', lines: parsed.lines.length, totalUsd: total.rows[0].t, providers };
        }
        await client.query('delete from ops.invoice_files where source_uri = $1', [file]);
        const { rows } = await client.query<{ id: string }>(
            'insert into ops.invoice_files (source_uri, content_sha256, format, lines, total_usd) values ($1, $2, $3, $4, $5::numeric) returning invoice_file_id::text as id',
            [file, sha, format.name, parsed.lines.length, total.rows[0].t],
        );
        const l = parsed.lines;
        await client.query(
            `insert into raw.invoice_lines (invoice_file_id, line_no, provider, line_date, month_start, line_item, model, project_id, amount_usd)
             select $1::bigint, n, p, d, m, li, mo, pr, a
             from unnest($2::int[], $3::text[], $4::date[], $5::date[], $6::text[], $7::text[], $8::text[], $9::numeric[]) as u (n, p, d, m, li, mo, pr, a)`,
            [
                rows[0].id,
                l.map((_, i) => i + 1),
                l.map((x) => x.provider),
                l.map((x) => x.day ?? null),
                l.map((x) => x.month),
                l.map((x) => x.lineItem ?? null),
                l.map((x) => x.model ?? null),
                l.map((x) => x.projectId ?? null),
                l.map((x) => x.amountUsd),
            ],
        );
        await client.query('commit');
        return { file, format: format.name, status: existing.rows.length ? 'replaced' : 'imported', lines: l.length, totalUsd: total.rows[0].t, providers };
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    } finally {
        client.release();
    }
}

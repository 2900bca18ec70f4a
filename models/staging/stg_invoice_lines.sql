-- Provider cost-export lines, as imported: one row per line, with the file and format it came from.
with lines as (
    select * from raw.invoice_lines
),

files as (
    select * from ops.invoice_files
),

final as (
    select
        lines.invoice_file_id,
        lines.line_no,
        lines.provider,
        lines.line_date,
        lines.month_start,
        lines.line_item,
        lines.model,
        lines.project_id,
        lines.amount_usd,
        files.format as invoice_format,
        files.source_uri
    from lines
    inner join files on files.invoice_file_id = lines.invoice_file_id
)

select * from final

import { formatInt } from '../format.js';
import { esc } from './html.js';
import type { ReportSection, SectionContext } from './section.js';

/** The flagged rows of the week (marts.mart_quality_drift): drifted or moderate distributions, moved rates. */
async function loadDrift(ctx: SectionContext) {
    return ctx.db
        .selectFrom('marts.mart_quality_drift')
        .selectAll()
        .where('week_start', '=', ctx.period.start)
        .where('drift_status', 'in', ['drifted', 'moderate', 'moved'])
        .orderBy('drift_status')
        .orderBy('psi', (ob) => ob.desc().nullsLast())
        .orderBy('feature')
        .limit(15)
        .execute();
}

export const drift: ReportSection = {
    id: 'drift',

    async html(ctx) {
        if (ctx.period.kind !== 'weekly') return { html: '' };
        const rows = await loadDrift(ctx);
        const body = rows.length
            ? `<table class="compact"><thead><tr><th>Feature / model</th><th>Metric</th><th class="n">This week</th><th class="n">Baseline</th><th class="n">PSI</th><th class="n">KS D (p)</th><th>Status</th></tr></thead><tbody>${rows
                  .map(
                      (r) =>
                          `<tr><td>${esc(r.feature)} / ${esc(r.model)}</td><td>${esc(r.metric)}</td><td class="n">${Number(r.current_value).toFixed(3)} <small>n=${formatInt(r.current_n ?? 0)}</small></td><td class="n">${Number(r.baseline_value).toFixed(3)}</td><td class="n">${r.psi ?? '—'}</td><td class="n">${r.ks_statistic === null ? '—' : `${Number(r.ks_statistic).toFixed(3)} (${r.ks_p_value! < 0.001 ? '<0.001' : r.ks_p_value!.toFixed(3)})`}</td><td class="drift-${esc(r.drift_status)}">${esc(r.drift_status)}</td></tr>`,
                  )
                  .join('')}</tbody></table>`
            : '<div class="nodata">No drift flagged this week</div>';
        return {
            html: `<div class="keep"><h2>Drift</h2>\n<p class="muted">Tokens, latency and eval scores against the 4 weeks before (PSI on the baseline's deciles, Kolmogorov–Smirnov); refusal and guardrail-flag rates against last week. Thresholds: models/seeds/quality_settings.csv.</p>${body}</div>`,
            figures: { drift_flags: String(rows.length) },
        };
    },
};

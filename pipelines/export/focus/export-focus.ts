import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/database.js';
import { UserError } from '../../util/errors.js';
import { checkFocus, FOCUS_VERSION, type FocusDataset, type FocusProblem } from './check-focus.js';

/** The conditional columns an LLM API's spend makes mandatory: it meters tokens, publishes prices and SKUs, and has projects and tags. */
export const LLM_REQUIRED_COLUMNS = [
    'ConsumedQuantity',
    'ConsumedUnit',
    'ContractedUnitPrice',
    'ListUnitPrice',
    'PricingCategory',
    'SkuId',
    'SkuMeter',
    'SkuPriceDetails',
    'SkuPriceId',
    'SubAccountId',
    'SubAccountName',
    'Tags',
];

const COLUMNS = [
    'BilledCost',
    'BillingAccountId',
    'BillingAccountName',
    'BillingCurrency',
    'BillingPeriodEnd',
    'BillingPeriodStart',
    'ChargeCategory',
    'ChargeClass',
    'ChargeDescription',
    'ChargeFrequency',
    'ChargePeriodEnd',
    'ChargePeriodStart',
    'ConsumedQuantity',
    'ConsumedUnit',
    'ContractedCost',
    'ContractedUnitPrice',
    'EffectiveCost',
    'InvoiceIssuerName',
    'ListCost',
    'ListUnitPrice',
    'PricingCategory',
    'PricingQuantity',
    'PricingUnit',
    'ProviderName',
    'PublisherName',
    'ServiceCategory',
    'ServiceName',
    'ServiceSubcategory',
    'SkuId',
    'SkuMeter',
    'SkuPriceDetails',
    'SkuPriceId',
    'SubAccountId',
    'SubAccountName',
    'Tags',
] as const;

/**
 * Who provides, publishes and invoices each provider's models (FOCUS appendix "Origination of cost
 * data"): a provider's own API is all three; a cloud provides and invoices another maker's model.
 */
const ORIGINATION: Readonly<Record<string, { provider: string; publisher: string; service: string }>> = {
    openai: { provider: 'OpenAI', publisher: 'OpenAI', service: 'OpenAI API' },
    anthropic: { provider: 'Anthropic', publisher: 'Anthropic', service: 'Claude API' },
    mistral: { provider: 'Mistral AI', publisher: 'Mistral AI', service: 'Mistral AI API' },
    'gcp.gemini': { provider: 'Google', publisher: 'Google', service: 'Gemini API' },
    'gcp.vertex_ai': { provider: 'Google Cloud', publisher: 'Google', service: 'Vertex AI' },
    'aws.bedrock': { provider: 'AWS', publisher: 'AWS', service: 'Amazon Bedrock' },
    'azure.ai.openai': { provider: 'Microsoft', publisher: 'OpenAI', service: 'Azure OpenAI' },
};
const origination = (p: string) => ORIGINATION[p] ?? { provider: p, publisher: p, service: `${p} API` };

/** Numeric Format with a decimal point always (a reader inferring types takes "12" for an integer). */
function num(v: string): string {
    const [int, frac = ''] = v.split('.');
    const f = frac.replace(/0+$/, '');
    return `${int}.${f || '0'}`;
}
const utc = (day: string) => `${day}T00:00:00Z`;

export interface FocusExport {
    readonly dataset: FocusDataset;
    readonly problems: readonly FocusProblem[];
    readonly billedCost: string;
    /** Requests left out: application-cache hits (nothing billed) and unpriced requests. */
    readonly cacheHits: number;
    readonly unpriced: number;
}

/**
 * The month's LLM spend as a FOCUS 1.2 cost and usage dataset: one Usage row per day x provider x
 * model x team x cost center x feature x tenant x token meter x unit price (a price change, a tier
 * or long-context rates are another unit price, so ListUnitPrice x PricingQuantity = ListCost holds
 * exactly on every row). No discounts are known: list, contracted, effective and billed cost are
 * the same. Checked against the spec before it is returned.
 */
export async function exportFocus(db: Kysely<DB>, month: string): Promise<FocusExport> {
    const start = `${month}-01`;
    const { rows } = await sql<{
        usage_date: string;
        provider: string;
        model: string;
        service_tier: string;
        is_long_context: boolean;
        price_effective_from: string;
        team: string;
        cost_center: string;
        feature: string;
        tenant: string;
        meter: string;
        tokens: string;
        quantity: string;
        unit_price: string;
        cost: string;
    }>`
        with requests as (
            select * from intermediate.int_requests_priced
            where usage_date >= ${start}::date and usage_date < (${start}::date + interval '1 month')
                and not is_cache_hit and not is_unpriced
        ),
        meters as (
            select requests.*, m.meter, m.tokens, m.rate
            from requests
            cross join lateral (values
                ('Input Tokens', requests.uncached_input_tokens, requests.uncached_input_rate),
                ('Cached Input Tokens', requests.cache_read_tokens, requests.cache_read_rate),
                ('Cache Write Tokens (5 minutes)', requests.cache_write_5m_tokens, requests.cache_write_5m_rate),
                ('Cache Write Tokens (1 hour)', requests.cache_write_1h_tokens, requests.cache_write_1h_rate),
                ('Output Tokens', requests.output_excl_reasoning_tokens, requests.output_rate),
                ('Reasoning Tokens', requests.reasoning_tokens, requests.reasoning_rate)
            ) as m (meter, tokens, rate)
            where m.tokens > 0
        )
        select
            usage_date::text as usage_date, provider, price_model as model, service_tier, is_long_context,
            to_char(price_effective_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as price_effective_from,
            team, cost_center, feature_key as feature, tenant_key as tenant, meter,
            sum(tokens)::text as tokens,
            (sum(tokens)::numeric / 1000000)::text as quantity,
            (rate * 1000000)::text as unit_price,
            (sum(tokens) * rate)::text as cost
        from meters
        group by usage_date, provider, price_model, service_tier, is_long_context, price_effective_from, team, cost_center, feature_key, tenant_key, meter, rate
        order by usage_date, provider, price_model, team, cost_center, feature_key, tenant_key, meter, service_tier, is_long_context, price_effective_from`.execute(
        db,
    );
    const [left] = (
        await sql<{ cache_hits: string; unpriced: string }>`
            select count(*) filter (where is_cache_hit)::text as cache_hits, count(*) filter (where is_unpriced)::text as unpriced
            from intermediate.int_requests_priced where usage_date >= ${start}::date and usage_date < (${start}::date + interval '1 month')`.execute(db)
    ).rows;
    const periodEnd = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1)).toISOString().slice(0, 10);
    const out = rows.map((r) => {
        const o = origination(r.provider);
        const meterKey = r.meter
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-')
            .replace(/-$/, '');
        const sku = `${r.provider}/${r.model}/${meterKey}`;
        const priceId = `${sku}/${r.service_tier}${r.is_long_context ? '/long-context' : ''}/${r.price_effective_from}`;
        const cost = num(r.cost);
        const nextDay = new Date(Date.parse(`${r.usage_date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
        const values: Record<(typeof COLUMNS)[number], string | null> = {
            BilledCost: cost,
            BillingAccountId: r.provider,
            BillingAccountName: `${o.provider} (tokenmart: ${r.provider})`,
            BillingCurrency: 'USD',
            BillingPeriodEnd: utc(periodEnd),
            BillingPeriodStart: utc(start),
            ChargeCategory: 'Usage',
            ChargeClass: null,
            ChargeDescription: `${r.model} ${r.meter.toLowerCase()}${r.service_tier === 'standard' ? '' : `, ${r.service_tier} tier`}${r.is_long_context ? ', long context' : ''}`,
            ChargeFrequency: 'Usage-Based',
            ChargePeriodEnd: utc(nextDay),
            ChargePeriodStart: utc(r.usage_date),
            ConsumedQuantity: num(r.tokens),
            ConsumedUnit: 'Tokens',
            ContractedCost: cost,
            ContractedUnitPrice: num(r.unit_price),
            EffectiveCost: cost,
            InvoiceIssuerName: o.provider,
            ListCost: cost,
            ListUnitPrice: num(r.unit_price),
            PricingCategory: 'Standard',
            PricingQuantity: num(r.quantity),
            PricingUnit: '1000000 Tokens',
            ProviderName: o.provider,
            PublisherName: o.publisher,
            ServiceCategory: 'AI and Machine Learning',
            ServiceName: o.service,
            ServiceSubcategory: 'Generative AI',
            SkuId: sku,
            SkuMeter: r.meter,
            SkuPriceDetails: JSON.stringify({ x_ServiceTier: r.service_tier, x_LongContext: r.is_long_context, x_PriceEffectiveFrom: r.price_effective_from }),
            SkuPriceId: priceId,
            SubAccountId: null,
            SubAccountName: null,
            Tags: JSON.stringify({ team: r.team, cost_center: r.cost_center, feature: r.feature, tenant: r.tenant }),
        };
        return COLUMNS.map((c) => values[c]);
    });
    const dataset: FocusDataset = { columns: [...COLUMNS], rows: out };
    const billed = await sql<{ total: string }>`select coalesce(sum(x), 0)::text as total from unnest(${rows.map((r) => r.cost)}::numeric[]) as x`.execute(db);
    return {
        dataset,
        problems: checkFocus(dataset, LLM_REQUIRED_COLUMNS),
        billedCost: billed.rows[0].total,
        cacheHits: Number(left?.cache_hits ?? 0),
        unpriced: Number(left?.unpriced ?? 0),
    };
}

/** RFC 4180, with a null as an empty unquoted field and every other value quoted when it must be. */
export function focusCsv(dataset: FocusDataset): string {
    const field = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) || v === '' ? `"${v.replaceAll('"', '""')}"` : v);
    return `${[dataset.columns.join(','), ...dataset.rows.map((r) => r.map(field).join(','))].join('\r\n')}\r\n`;
}

export function describeProblems(problems: readonly FocusProblem[], limit = 5): string {
    const shown = problems.slice(0, limit).map((p) => `${p.row ? `row ${p.row}: ` : ''}${p.message}`);
    return `${shown.join('; ')}${problems.length > limit ? `; and ${problems.length - limit} more` : ''}`;
}

export function requireValid(export_: FocusExport): void {
    if (export_.problems.length)
        throw new UserError(
            `export focus: the dataset breaks FOCUS ${FOCUS_VERSION} (${export_.problems.length} problem(s)): ${describeProblems(export_.problems)}; this is a bug in the exporter, please report it`,
        );
}

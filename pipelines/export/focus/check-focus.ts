import spec from './focus-1.2-columns.json' with { type: 'json' };

/**
 * Checks a FOCUS 1.2 dataset against the specification's requirements, encoded as data in
 * focus-1.2-columns.json (FOCUS_Spec tag v1.2, commit 7296e3146fb931ee32b6496fa6e4200e7f4384f7;
 * see its `license` and `note`): column presence, types and formats, nullability, allowed values
 * and the cross-column rules. The official validator is a Python package this project cannot
 * install; where it is known to be looser (README, "FOCUS export"), this check follows the spec.
 */

export interface FocusColumn {
    readonly id: string;
    readonly dataType: 'String' | 'Decimal' | 'Date/Time' | 'JSON';
    readonly featureLevel: 'Mandatory' | 'Recommended' | 'Conditional';
    readonly nullable: 'never' | 'conditional' | 'allowed';
    readonly allowedValues?: readonly string[];
    readonly valueFormat?: string;
}

type Condition = string | { eq?: string | number; ne?: string; in?: readonly string[]; notNull?: boolean; isNull?: boolean; neColumn?: string };
interface CrossRule {
    readonly id: string;
    readonly when: Readonly<Record<string, Condition>>;
    readonly then: Readonly<Record<string, Condition | 'null' | 'notNull'>> & { readonly expr?: string };
    readonly checkable?: string;
}

export const FOCUS_VERSION = spec.version;
export const FOCUS_COLUMNS = spec.columns as unknown as readonly FocusColumn[];
const RULES = spec.crossColumnRules as unknown as readonly CrossRule[];
const BY_ID = new Map(FOCUS_COLUMNS.map((c) => [c.id, c]));
const DATETIME = new RegExp(spec.attributes.DateTimeFormat.regex);
const NUMERIC = new RegExp(spec.attributes.NumericFormat.regex);
const CURRENCY = new RegExp(spec.attributes.CurrencyFormat.regex);
const NATIONAL_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** ServiceSubcategory -> its ServiceCategory: the spec lists each category's subcategories, ending with "Other (<category>)". */
const SUBCATEGORY_PARENT: ReadonlyMap<string, string> = (() => {
    const map = new Map<string, string>();
    let group: string[] = [];
    for (const v of BY_ID.get('ServiceSubcategory')?.allowedValues ?? []) {
        group.push(v);
        const other = /^Other \((.+)\)$/.exec(v);
        if (other) {
            for (const g of group) map.set(g, other[1]);
            group = [];
        }
    }
    return map;
})();

export interface FocusDataset {
    readonly columns: readonly string[];
    /** Cell values; null is a null (an empty CSV field), '' an empty string. */
    readonly rows: readonly (readonly (string | null)[])[];
}

export interface FocusProblem {
    readonly rule: string;
    readonly column?: string;
    /** 1-based data row, when the problem is in one. */
    readonly row?: number;
    readonly message: string;
}

/** An exact decimal (the Numeric Format: digits, a point, an E exponent). */
function decimal(s: string): { units: bigint; scale: number } {
    const [mantissa, exp = '0'] = s.toUpperCase().split('E');
    const [int, frac = ''] = mantissa.replace('-', '').split('.');
    const units = BigInt(int + frac) * (mantissa.startsWith('-') ? -1n : 1n);
    const scale = frac.length - Number(exp);
    return scale >= 0 ? { units, scale } : { units: units * 10n ** BigInt(-scale), scale: 0 };
}
const compare = (a: { units: bigint; scale: number }, b: { units: bigint; scale: number }) => {
    const s = Math.max(a.scale, b.scale);
    const x = a.units * 10n ** BigInt(s - a.scale);
    const y = b.units * 10n ** BigInt(s - b.scale);
    return x === y ? 0 : x < y ? -1 : 1;
};
const multiply = (a: { units: bigint; scale: number }, b: { units: bigint; scale: number }) => ({ units: a.units * b.units, scale: a.scale + b.scale });

function valueProblem(col: FocusColumn, v: string): string | undefined {
    if (v === '') return 'an empty string (null handling: a missing value is null, never "")';
    if (col.dataType === 'Decimal' && !NUMERIC.test(v)) return `"${v}" is not in Numeric Format`;
    if (col.dataType === 'Date/Time' && (!DATETIME.test(v) || Number.isNaN(Date.parse(v)))) return `"${v}" is not a UTC date-time YYYY-MM-DDTHH:mm:ssZ`;
    if (col.valueFormat === 'Currency Format' && !(CURRENCY.test(v) && NATIONAL_CURRENCIES.has(v))) return `"${v}" is not an ISO 4217 national currency code`;
    if (col.dataType === 'JSON') {
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            return `"${v.slice(0, 40)}" is not JSON`;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'is not a JSON object (Key-Value Format)';
        if (Object.values(parsed).some((x) => x !== null && typeof x === 'object'))
            return 'has an object or array value (Key-Value Format allows scalars only)';
        if (col.id === 'SkuPriceDetails' && Object.keys(parsed).some((k) => !k.startsWith('x_'))) return 'has a key without the x_ prefix';
    }
    if (col.allowedValues && col.id !== 'ServiceSubcategory' && !col.allowedValues.includes(v))
        return `"${v}" is not an allowed value (${col.allowedValues.join(', ')})`;
    if (col.id === 'ServiceSubcategory' && !SUBCATEGORY_PARENT.has(v)) return `"${v}" is not an allowed value`;
    return undefined;
}

/** Whether a rule's `when` holds for a row: a condition on a null (or absent) value compares as null, and null is "not" any value. */
function holds(conditions: CrossRule['when'], get: (c: string) => string | null): boolean {
    return Object.entries(conditions).every(([column, c]) => {
        const v = get(column);
        if (typeof c === 'string') return v === c;
        if (c.notNull) return v !== null;
        if (c.isNull) return v === null;
        if (c.ne !== undefined) return v !== c.ne;
        if (c.in) return v !== null && c.in.includes(v);
        if (c.neColumn !== undefined) return v !== get(c.neColumn);
        if (c.eq !== undefined) return v !== null && (typeof c.eq === 'number' ? compare(decimal(v), decimal(String(c.eq))) === 0 : v === c.eq);
        return true;
    });
}

/** The rules stated as expressions, by id (the data names them; their meaning is here). */
function expressionHolds(rule: CrossRule, get: (c: string) => string | null): boolean | undefined {
    const num = (c: string) => (get(c) === null ? undefined : decimal(get(c)!));
    const pair = (a: string, b: string) => (get(a) === null) === (get(b) === null);
    const before = (a: string, b: string, strict: boolean) => {
        const x = get(a);
        const y = get(b);
        if (x === null || y === null) return true; // nullability is checked apart
        return strict ? Date.parse(x) < Date.parse(y) : Date.parse(x) <= Date.parse(y);
    };
    const product = (price: string, quantity: string, cost: string) => compare(multiply(num(price)!, num(quantity)!), num(cost) ?? decimal('0')) === 0;
    switch (rule.id) {
        case 'ChargePeriod.order':
            return before('ChargePeriodStart', 'ChargePeriodEnd', true);
        case 'BillingPeriod.order':
            return before('BillingPeriodStart', 'BillingPeriodEnd', true);
        case 'ChargeWithinBillingPeriod':
            return before('BillingPeriodStart', 'ChargePeriodStart', false) && before('ChargePeriodEnd', 'BillingPeriodEnd', false);
        case 'ConsumedUnit.pairsWithQuantity':
            return pair('ConsumedUnit', 'ConsumedQuantity');
        case 'PricingUnit.pairsWithQuantity':
            return pair('PricingUnit', 'PricingQuantity');
        case 'RegionName.pairsWithRegionId':
            return pair('RegionName', 'RegionId');
        case 'SubAccount.pairs':
            return pair('SubAccountName', 'SubAccountId');
        case 'ListCost.product':
            return product('ListUnitPrice', 'PricingQuantity', 'ListCost');
        case 'ContractedCost.product':
            return product('ContractedUnitPrice', 'PricingQuantity', 'ContractedCost');
        case 'UnitPrices.nonNegative':
            return ['ListUnitPrice', 'ContractedUnitPrice', 'PricingCurrencyListUnitPrice', 'PricingCurrencyContractedUnitPrice'].every(
                (c) => get(c) === null || compare(decimal(get(c)!), decimal('0')) >= 0,
            );
        case 'Costs.unrelatedChargeEqualsBilled':
            return (
                get('EffectiveCost') === get('BilledCost') &&
                (get('ListUnitPrice') !== null || compare(num('ListCost')!, num('BilledCost')!) === 0) &&
                (get('ContractedUnitPrice') !== null || compare(num('ContractedCost')!, num('BilledCost')!) === 0)
            );
        case 'ServiceSubcategory.parent':
            return SUBCATEGORY_PARENT.get(get('ServiceSubcategory') ?? '') === get('ServiceCategory');
        default:
            return undefined; // dataset-wide, schema-level or not checkable on a row: below, or not at all
    }
}

/**
 * Every problem of a dataset: `required` are the conditional columns the producer's situation
 * makes mandatory (for LLM APIs: consumed quantities, unit prices, SKUs, sub accounts, tags).
 */
export function checkFocus(dataset: FocusDataset, required: readonly string[] = []): FocusProblem[] {
    const problems: FocusProblem[] = [];
    const index = new Map(dataset.columns.map((c, i) => [c, i]));
    for (const col of FOCUS_COLUMNS)
        if ((col.featureLevel === 'Mandatory' || required.includes(col.id)) && !index.has(col.id))
            problems.push({
                rule: 'presence',
                column: col.id,
                message: `${col.id}: a ${col.featureLevel === 'Mandatory' ? 'mandatory' : 'required'} column is missing`,
            });
    for (const name of dataset.columns)
        if (!BY_ID.has(name) && !name.startsWith('x_'))
            problems.push({
                rule: 'CustomColumns.prefix',
                column: name,
                message: `${name}: not a FOCUS ${FOCUS_VERSION} column, and custom columns need the x_ prefix`,
            });
    if (new Set(dataset.columns).size !== dataset.columns.length) problems.push({ rule: 'presence', message: 'a column appears twice' });

    const serviceCategories = new Map<string, Set<string>>();
    const skuOfPrice = new Map<string, Set<string>>();
    dataset.rows.forEach((cells, r) => {
        const row = r + 1;
        const get = (c: string) => (index.has(c) ? (cells[index.get(c)!] ?? null) : null);
        for (const [name, i] of index) {
            const col = BY_ID.get(name);
            if (!col) continue;
            const v = cells[i] ?? null;
            if (v === null) {
                if (col.nullable === 'never') problems.push({ rule: 'nullability', column: name, row, message: `${name} is null (it must never be)` });
                continue;
            }
            const p = valueProblem(col, v);
            if (p) problems.push({ rule: 'value', column: name, row, message: `${name}: ${p}` });
        }
        for (const rule of RULES) {
            if (!holds(rule.when, get)) continue;
            const { expr, ...then } = rule.then;
            if (expr !== undefined) {
                const ok = expressionHolds(rule, get);
                if (ok === false) problems.push({ rule: rule.id, row, message: `${rule.id}: ${expr}` });
                continue;
            }
            for (const [column, c] of Object.entries(then)) {
                // A rule on a column the dataset does not have applies when it is present (presence is checked above).
                if (!index.has(column)) continue;
                const v = get(column);
                const ok = c === 'null' ? v === null : c === 'notNull' ? v !== null : holds({ [column]: c as Condition }, get);
                if (!ok)
                    problems.push({ rule: rule.id, column, row, message: `${rule.id}: ${column} must be ${typeof c === 'string' ? c : JSON.stringify(c)}` });
            }
        }
        const name = get('ServiceName');
        if (name !== null) serviceCategories.set(name, (serviceCategories.get(name) ?? new Set()).add(get('ServiceCategory') ?? ''));
        const price = get('SkuPriceId');
        if (price !== null) skuOfPrice.set(price, (skuOfPrice.get(price) ?? new Set()).add(get('SkuId') ?? ''));
    });
    for (const [name, cats] of serviceCategories)
        if (cats.size > 1) problems.push({ rule: 'ServiceName.singleCategory', message: `ServiceName "${name}" has ${cats.size} ServiceCategory values` });
    for (const [price, skus] of skuOfPrice)
        if (skus.size > 1) problems.push({ rule: 'SkuPriceId.singleParentSku', message: `SkuPriceId "${price}" has ${skus.size} SkuId values` });
    return problems;
}

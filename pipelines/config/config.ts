import { type AttributeMapping, DEFAULT_ATTRIBUTE_MAPPING } from '../ingest/formats/format.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../util/errors.js';

export type OnChangedFile = 'fail' | 'replace';

export interface Config {
    readonly configFile: string | undefined;
    /** tokenmart's own folder: the embedded database, the quarantine spool, the demo (TOKENMART_HOME, default ./.tokenmart). */
    readonly home: string;
    /** Where raw logs come from: a directory/file or s3://bucket/prefix. */
    readonly source: string | undefined;
    readonly s3Endpoint: string | undefined;
    readonly databaseUrl: string | undefined;
    readonly timezone: string;
    readonly schedules: { readonly daily: string; readonly weekly: string };
    readonly ingest: {
        readonly maxErrorRate: number;
        readonly onChangedFile: OnChangedFile;
        readonly keepText: boolean;
        /** Small files per transaction: a crash makes the next run load up to this many again. */
        readonly batchFiles: number;
        /**
         * Distinct UTC days one file may hold events on: each day is a raw.events partition, and a
         * file of garbage timestamps must not create thousands of them. A file over it fails whole.
         */
        readonly maxDaysPerFile: number;
        readonly userIdHmacKey: string | undefined;
        /** OTLP formats: the attributes that carry team, feature, tenant, user, session, environment. */
        readonly attributes: AttributeMapping;
    };
    readonly slack: {
        readonly token: string | undefined;
        readonly channel: string;
        readonly alertChannel: string;
        /** team -> channel for per-team digests. */
        readonly teamChannels: Readonly<Record<string, string>>;
    };
    readonly outputDir: string;
    readonly freshness: { readonly warnAfterHours: number; readonly errorAfterHours: number };
    readonly report: { readonly pdfTimeoutSeconds: number };
    /** A model statement that runs longer is cancelled and the model fails, naming this key. */
    readonly build: { readonly statementTimeoutMinutes: number };
    /** Raw events and quarantined lines older than this many days are dropped (marts keep their history); undefined = kept. */
    readonly retention: { readonly rawDays: number | undefined };
}

export const CONFIG_FILE_NAME = 'tokenmart.config.json';

const defaults = {
    timezone: 'UTC',
    schedules: { daily: '0 6 * * *', weekly: '0 7 * * 1' },
    ingest: { maxErrorRate: 0.05, onChangedFile: 'fail' as OnChangedFile, keepText: false, batchFiles: 1000, maxDaysPerFile: 1000 },
    slack: { channel: '#llm-spend', alertChannel: '#data-alerts', teamChannels: {} },
    outputDir: 'out',
    freshness: { warnAfterHours: 30, errorAfterHours: 72 },
    report: { pdfTimeoutSeconds: 120 },
    build: { statementTimeoutMinutes: 60 },
};

/** Every key the file may hold: a section's keys are checked like the top level's (a typo is an error, not a default). */
const KNOWN_KEYS: Readonly<Record<string, readonly string[] | null>> = {
    $schema: null,
    source: null,
    s3Endpoint: null,
    timezone: null,
    outputDir: null,
    schedules: ['daily', 'weekly'],
    ingest: ['maxErrorRate', 'onChangedFile', 'keepText', 'batchFiles', 'maxDaysPerFile', 'attributes'],
    slack: ['channel', 'alertChannel', 'teamChannels'],
    freshness: ['warnAfterHours', 'errorAfterHours'],
    report: ['pdfTimeoutSeconds'],
    build: ['statementTimeoutMinutes'],
    retention: ['rawDays'],
};

type Json = Record<string, unknown>;

function pick(obj: Json, path: string): unknown {
    let cur: unknown = obj;
    for (const key of path.split('.')) {
        if (cur === null || typeof cur !== 'object') return undefined;
        cur = (cur as Json)[key];
    }
    return cur;
}

function bad(file: string, key: string, want: string): never {
    throw new UserError(`config: ${file}: key "${key}" ${want}; fix the value or remove the key to use the default`);
}

/**
 * Reads tokenmart.config.json (or the file named) and the environment; secrets come only from the
 * environment. Invalid values fail with one line naming the key.
 */
export function loadConfig(options: { readonly configPath?: string; readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): Config {
    const env = options.env ?? process.env;
    const cwd = options.cwd ?? process.cwd();
    const explicit = options.configPath ?? env.TOKENMART_CONFIG;
    const file = explicit ? resolve(cwd, explicit) : resolve(cwd, CONFIG_FILE_NAME);
    let raw: Json = {};
    if (existsSync(file)) {
        try {
            raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
        } catch (err) {
            throw new UserError(`config: ${file} is not valid JSON (${(err as Error).message}); fix the syntax`);
        }
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad(file, '(top level)', 'must be a JSON object');
    } else if (explicit) {
        throw new UserError(`config: ${file} does not exist; pass an existing file with --config or unset TOKENMART_CONFIG`);
    }
    for (const [key, value] of Object.entries(raw)) {
        if (!(key in KNOWN_KEYS))
            bad(
                file,
                key,
                `is not a known key (known: ${Object.keys(KNOWN_KEYS)
                    .filter((k) => k !== '$schema')
                    .join(', ')})`,
            );
        const section = KNOWN_KEYS[key];
        if (!section) continue;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(file, key, `must be an object with ${section.join(', ')}`);
        for (const sub of Object.keys(value as Json)) {
            if (!section.includes(sub)) bad(file, `${key}.${sub}`, `is not a known key (known: ${section.map((k) => `${key}.${k}`).join(', ')})`);
        }
    }

    const str = (key: string, fallback: string | undefined): string | undefined => {
        const v = pick(raw, key);
        if (v === undefined) return fallback;
        if (typeof v !== 'string' || v.length === 0) bad(file, key, 'must be a non-empty string');
        return v;
    };
    const num = (key: string, fallback: number, min: number, max: number): number => {
        const v = pick(raw, key);
        if (v === undefined) return fallback;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(file, key, `must be a number from ${min} to ${max}`);
        return v;
    };

    const timezone = env.TOKENMART_TIMEZONE ?? str('timezone', defaults.timezone)!;
    try {
        new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
        bad(env.TOKENMART_TIMEZONE ? 'TOKENMART_TIMEZONE' : file, 'timezone', `"${timezone}" is not an IANA time zone (e.g. UTC, Europe/Berlin)`);
    }
    const onChanged = str('ingest.onChangedFile', defaults.ingest.onChangedFile);
    if (onChanged !== 'fail' && onChanged !== 'replace') bad(file, 'ingest.onChangedFile', 'must be "fail" or "replace"');
    const keepText = pick(raw, 'ingest.keepText');
    if (keepText !== undefined && typeof keepText !== 'boolean') bad(file, 'ingest.keepText', 'must be true or false');
    const attributeMap = pick(raw, 'ingest.attributes') ?? {};
    const fields = Object.keys(DEFAULT_ATTRIBUTE_MAPPING);
    if (typeof attributeMap !== 'object' || attributeMap === null || Array.isArray(attributeMap))
        bad(file, 'ingest.attributes', `must be an object of contract field -> attribute names (${fields.join(', ')})`);
    for (const [field, keys] of Object.entries(attributeMap as Json)) {
        if (!fields.includes(field)) bad(file, `ingest.attributes.${field}`, `is not a field the mapping fills (known: ${fields.join(', ')})`);
        if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || k === ''))
            bad(file, `ingest.attributes.${field}`, 'must be a list of attribute names, first match wins (e.g. ["team.id", "team"])');
    }
    const teamChannels = pick(raw, 'slack.teamChannels') ?? {};
    if (
        typeof teamChannels !== 'object' ||
        teamChannels === null ||
        Array.isArray(teamChannels) ||
        Object.values(teamChannels).some((c) => typeof c !== 'string')
    ) {
        bad(file, 'slack.teamChannels', 'must be an object of team name -> channel');
    }
    const warnAfterHours = num('freshness.warnAfterHours', defaults.freshness.warnAfterHours, 1, 24 * 365);
    const errorAfterHours = num('freshness.errorAfterHours', defaults.freshness.errorAfterHours, 1, 24 * 365);
    if (errorAfterHours < warnAfterHours) bad(file, 'freshness.errorAfterHours', 'must be at least freshness.warnAfterHours');

    return {
        configFile: existsSync(file) ? file : undefined,
        home: resolve(cwd, env.TOKENMART_HOME ?? '.tokenmart'),
        source: env.TOKENMART_SOURCE ?? str('source', undefined),
        s3Endpoint: env.TOKENMART_S3_ENDPOINT ?? str('s3Endpoint', undefined),
        databaseUrl: env.DATABASE_URL || undefined,
        timezone,
        schedules: {
            daily: str('schedules.daily', defaults.schedules.daily)!,
            weekly: str('schedules.weekly', defaults.schedules.weekly)!,
        },
        ingest: {
            maxErrorRate: num('ingest.maxErrorRate', defaults.ingest.maxErrorRate, 0, 1),
            onChangedFile: onChanged,
            keepText: keepText ?? defaults.ingest.keepText,
            batchFiles: Math.floor(num('ingest.batchFiles', defaults.ingest.batchFiles, 1, 100_000)),
            maxDaysPerFile: Math.floor(num('ingest.maxDaysPerFile', defaults.ingest.maxDaysPerFile, 1, 40_000)),
            userIdHmacKey: env.TOKENMART_USER_ID_HMAC_KEY || undefined,
            attributes: { ...DEFAULT_ATTRIBUTE_MAPPING, ...(attributeMap as Partial<AttributeMapping>) },
        },
        slack: {
            token: env.SLACK_BOT_TOKEN || undefined,
            channel: env.TOKENMART_SLACK_CHANNEL ?? str('slack.channel', defaults.slack.channel)!,
            alertChannel: env.TOKENMART_ALERT_CHANNEL ?? str('slack.alertChannel', defaults.slack.alertChannel)!,
            teamChannels: teamChannels as Record<string, string>,
        },
        outputDir: resolve(cwd, env.TOKENMART_OUTPUT_DIR ?? str('outputDir', defaults.outputDir)!),
        freshness: { warnAfterHours, errorAfterHours },
        report: { pdfTimeoutSeconds: num('report.pdfTimeoutSeconds', defaults.report.pdfTimeoutSeconds, 1, 3600) },
        build: { statementTimeoutMinutes: num('build.statementTimeoutMinutes', defaults.build.statementTimeoutMinutes, 1, 7 * 24 * 60) },
        retention: { rawDays: pick(raw, 'retention.rawDays') === undefined ? undefined : Math.round(num('retention.rawDays', 0, 1, 36_500)) },
    };
}

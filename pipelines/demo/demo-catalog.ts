/** The synthetic company behind the demo: its teams, features and which models they call. */
export interface ModelChoice {
    readonly provider: string;
    readonly model: string;
    readonly weight: number;
    readonly reasoning?: boolean;
    readonly anthropicCache?: boolean;
    readonly openaiCache?: boolean;
}

export interface FeatureSpec {
    readonly feature: string;
    readonly team: string;
    /** Requests on an average weekday. */
    readonly dailyRequests: number;
    readonly inputMedian: number;
    readonly outputMedian: number;
    readonly models: readonly ModelChoice[];
    readonly operation?: string;
    readonly serviceTier?: 'batch' | 'flex' | 'priority';
    readonly appCacheRate?: number;
    readonly longContextRate?: number;
    readonly viaGateway?: boolean;
    readonly hasFeedback?: boolean;
    readonly hasOutcome?: boolean;
    /** Runs as agent tasks (contract v3 days): calls grouped into tasks with tool calls between. */
    readonly agent?: boolean;
}

export const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'] as const;

export const FEATURES: readonly FeatureSpec[] = [
    {
        feature: 'support-chat',
        team: 'support',
        dailyRequests: 520,
        inputMedian: 2400,
        outputMedian: 380,
        viaGateway: true,
        hasFeedback: true,
        hasOutcome: true,
        models: [
            { provider: 'anthropic', model: 'claude-sonnet-4-5', weight: 6, anthropicCache: true },
            { provider: 'openai', model: 'gpt-4o-mini', weight: 4, openaiCache: true },
        ],
    },
    {
        feature: 'ticket-triage',
        team: 'support',
        dailyRequests: 260,
        inputMedian: 2500,
        outputMedian: 60,
        models: [{ provider: 'openai', model: 'gpt-4.1', weight: 1, openaiCache: true }],
    },
    {
        feature: 'semantic-search',
        team: 'search',
        dailyRequests: 420,
        inputMedian: 40,
        outputMedian: 0,
        operation: 'embeddings',
        appCacheRate: 0.2,
        models: [{ provider: 'openai', model: 'text-embedding-3-small', weight: 1 }],
    },
    {
        feature: 'answer-engine',
        team: 'search',
        dailyRequests: 300,
        inputMedian: 5200,
        outputMedian: 520,
        appCacheRate: 0.12,
        hasFeedback: true,
        models: [
            { provider: 'openai', model: 'gpt-4.1', weight: 5, openaiCache: true },
            { provider: 'gcp.vertex_ai', model: 'gemini-2.5-pro', weight: 3, reasoning: true },
        ],
    },
    {
        feature: 'email-drafts',
        team: 'growth',
        dailyRequests: 180,
        inputMedian: 1100,
        outputMedian: 420,
        hasFeedback: true,
        models: [{ provider: 'anthropic', model: 'claude-haiku-4-5', weight: 1, anthropicCache: true }],
    },
    {
        feature: 'lead-scoring',
        team: 'growth',
        dailyRequests: 240,
        inputMedian: 1600,
        outputMedian: 90,
        serviceTier: 'batch',
        models: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 1 }],
    },
    {
        feature: 'translation',
        team: 'growth',
        dailyRequests: 25,
        inputMedian: 700,
        outputMedian: 650,
        models: [{ provider: 'mistral', model: 'mistral-large-2411', weight: 1 }],
    },
    {
        feature: 'code-review',
        team: 'platform',
        agent: true,
        dailyRequests: 110,
        inputMedian: 9000,
        outputMedian: 1400,
        hasFeedback: true,
        models: [
            { provider: 'openai', model: 'o4-mini', weight: 5, reasoning: true, openaiCache: true },
            { provider: 'openai', model: 'gpt-5', weight: 3, reasoning: true, openaiCache: true },
            { provider: 'anthropic', model: 'claude-opus-4-1', weight: 1, anthropicCache: true },
        ],
    },
    {
        feature: 'doc-summarizer',
        team: 'platform',
        dailyRequests: 90,
        inputMedian: 42000,
        outputMedian: 900,
        longContextRate: 0.06,
        models: [
            { provider: 'anthropic', model: 'claude-sonnet-4-5', weight: 3, anthropicCache: true },
            { provider: 'gcp.vertex_ai', model: 'gemini-2.5-flash', weight: 2, reasoning: true },
        ],
    },
];

import SlackWeb from '@slack/web-api';
import type { WebClient as WebClientType } from '@slack/web-api';

const { WebClient, ErrorCode } = SlackWeb;
export type SlackClient = WebClientType;

/**
 * A client that never retries on its own: a retried chat.postMessage whose first response was
 * lost posts twice. Rate limits are retried by `callSlack` (a 429 means nothing was done).
 */
export function createSlackClient(token: string, slackApiUrl?: string): SlackClient {
    return new WebClient(token, {
        ...(slackApiUrl ? { slackApiUrl } : {}),
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: 20_000,
    });
}

export type SlackFailure = { readonly kind: 'api'; readonly code: string; readonly message: string } | { readonly kind: 'unknown'; readonly message: string };

/** Why Slack said no, as one line with the fix. */
export function explainSlackError(code: string, channel: string): string {
    switch (code) {
        case 'invalid_auth':
        case 'not_authed':
        case 'token_revoked':
        case 'account_inactive':
            return `Slack rejected the token (${code}); set SLACK_BOT_TOKEN to the app's bot token (xoxb-...)`;
        case 'channel_not_found':
            return `Slack channel ${channel} not found (channel_not_found); use the channel ID or exact name, and for a private channel invite the bot first`;
        case 'not_in_channel':
            return `the bot is not in ${channel} (not_in_channel); invite it there with /invite @<your app>`;
        case 'missing_scope':
            return 'the Slack app lacks a scope (missing_scope); add chat:write, files:write, channels:read and channels:history, then reinstall the app';
        case 'is_archived':
            return `Slack channel ${channel} is archived (is_archived); unarchive it or configure another channel`;
        default:
            return `Slack answered ${code} for ${channel}; see https://api.slack.com/methods for what it means`;
    }
}

export class SlackCallError extends Error {
    constructor(readonly failure: SlackFailure) {
        super(failure.message);
    }
}

/** Calls Slack, waiting out rate limits (Retry-After), and classifies failures. */
export async function callSlack<T>(fn: () => Promise<T>, onRateLimit?: (seconds: number) => void, maxRateLimitWaits = 5): Promise<T> {
    for (let attempt = 0; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
            if (e.code === ErrorCode.RateLimitedError && attempt < maxRateLimitWaits) {
                onRateLimit?.(e.retryAfter ?? 1);
                await new Promise((r) => setTimeout(r, (e.retryAfter ?? 1) * 1000));
                continue;
            }
            if (e.code === ErrorCode.PlatformError) throw new SlackCallError({ kind: 'api', code: e.data?.error ?? 'unknown_error', message: e.message ?? '' });
            throw new SlackCallError({ kind: 'unknown', message: e.message ?? String(err) });
        }
    }
}

import type { Pool } from 'pg';
import { callSlack, explainSlackError, SlackCallError, type SlackClient } from './slack.js';

export interface DigestMessage {
    /** kind:period:channel, unique per delivery. */
    readonly digestId: string;
    readonly kind: string;
    readonly period: string;
    readonly channel: string;
    readonly text: string;
    readonly blocks: readonly unknown[];
}

export interface DigestFile {
    readonly filename: string;
    readonly title: string;
    readonly data: Buffer;
}

export type DeliveryOutcome =
    | { readonly status: 'delivered'; readonly ts: string; readonly recovered: boolean }
    | { readonly status: 'already_delivered'; readonly ts: string | null }
    | { readonly status: 'in_progress' }
    | { readonly status: 'failed'; readonly error: string; readonly posted: boolean };

interface DeliveryRow {
    status: 'claimed' | 'posted' | 'complete' | 'failed';
    channel_id: string | null;
    message_ts: string | null;
    files_uploaded: boolean;
    claimed_at: Date;
}

const METADATA_EVENT = 'tokenmart_digest';

/** Resolves #name to a channel ID (history needs IDs); IDs pass through. */
async function channelId(client: SlackClient, channel: string): Promise<string> {
    if (!channel.startsWith('#')) return channel;
    const name = channel.slice(1);
    let cursor: string | undefined;
    do {
        const page = await callSlack(() => client.conversations.list({ types: 'public_channel,private_channel', limit: 200, cursor, exclude_archived: true }));
        const found = page.channels?.find((c) => c.name === name);
        if (found?.id) return found.id;
        cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    throw new SlackCallError({ kind: 'api', code: 'channel_not_found', message: 'channel_not_found' });
}

/** Looks in the channel for a message carrying this digest's id in its metadata. */
async function findPosted(client: SlackClient, channel: string, digestId: string, since: Date): Promise<{ ts: string; channelId: string } | undefined> {
    const id = await channelId(client, channel);
    let cursor: string | undefined;
    do {
        const page = await callSlack(() =>
            client.conversations.history({
                channel: id,
                oldest: String(Math.floor(since.getTime() / 1000) - 300),
                include_all_metadata: true,
                limit: 200,
                cursor,
            }),
        );
        const hit = page.messages?.find((m) => (m.metadata?.event_payload as { digest_id?: string } | undefined)?.digest_id === digestId);
        if (hit?.ts) return { ts: hit.ts, channelId: id };
        cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
}

/**
 * Posts a digest exactly once. A delivery row is claimed before posting and the message ts stored
 * after. A rerun after success posts nothing; after an unknown outcome (timeout, lost response) it
 * first looks for the message in Slack by the digest id in its metadata; a failed file upload is
 * retried alone, in the thread of the message already posted.
 */
export async function deliverDigest(
    pool: Pool,
    client: SlackClient,
    message: DigestMessage,
    files: readonly DigestFile[],
    log: (l: string) => void = () => undefined,
): Promise<DeliveryOutcome> {
    const lockClient = await pool.connect();
    const set = (fields: Record<string, unknown>) => {
        const keys = Object.keys(fields);
        return pool.query(`update ops.deliveries set ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now() where digest_id = $1`, [
            message.digestId,
            ...keys.map((k) => fields[k]),
        ]);
    };
    try {
        const {
            rows: [lock],
        } = await lockClient.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 11)) as ok', [message.digestId]);
        if (!lock.ok) return { status: 'in_progress' };
        try {
            await pool.query(
                `insert into ops.deliveries (digest_id, kind, period, channel, status) values ($1, $2, $3, $4, 'claimed') on conflict (digest_id) do nothing`,
                [message.digestId, message.kind, message.period, message.channel],
            );
            let row = (
                await pool.query<DeliveryRow>('select status, channel_id, message_ts, files_uploaded, claimed_at from ops.deliveries where digest_id = $1', [
                    message.digestId,
                ])
            ).rows[0];
            if (row.status === 'complete') return { status: 'already_delivered', ts: row.message_ts };
            let ts = row.message_ts;
            let chId = row.channel_id;
            let recovered = false;
            try {
                if (row.status === 'claimed' && row.claimed_at.getTime() < Date.now() - 1000) {
                    // An earlier attempt may have posted without recording it: ask Slack first.
                    const found = await findPosted(client, message.channel, message.digestId, row.claimed_at);
                    if (found) {
                        ({ ts, channelId: chId } = found);
                        recovered = true;
                        await set({ status: 'posted', message_ts: ts, channel_id: chId });
                        log(`digest: ${message.digestId} was already posted (ts ${ts}); not posting again`);
                        row = { ...row, status: 'posted' };
                    }
                }
                if (row.status !== 'posted') {
                    await pool.query(
                        `update ops.deliveries set status = 'claimed', attempts = attempts + 1, error = null, updated_at = now() where digest_id = $1`,
                        [message.digestId],
                    );
                    try {
                        const res = await callSlack(
                            () =>
                                client.chat.postMessage({
                                    channel: message.channel,
                                    text: message.text,
                                    blocks: message.blocks as never[],
                                    metadata: { event_type: METADATA_EVENT, event_payload: { digest_id: message.digestId } },
                                    unfurl_links: false,
                                }),
                            (s) => log(`digest: Slack rate limit, waiting ${s} s`),
                        );
                        ts = res.ts!;
                        chId = res.channel!;
                    } catch (err) {
                        if (err instanceof SlackCallError && err.failure.kind === 'unknown') {
                            // Lost response: the message may or may not exist. Look before anything else.
                            const found = await findPosted(client, message.channel, message.digestId, new Date(Date.now() - 60_000)).catch(() => undefined);
                            if (!found) throw err;
                            ({ ts, channelId: chId } = found);
                            recovered = true;
                        } else throw err;
                    }
                    await set({ status: 'posted', message_ts: ts, channel_id: chId });
                }
                if (files.length && !row.files_uploaded) {
                    await callSlack(
                        () =>
                            client.filesUploadV2({
                                channel_id: chId!,
                                thread_ts: ts!,
                                file_uploads: files.map((f) => ({ file: f.data, filename: f.filename, title: f.title })),
                            } as never),
                        (s) => log(`digest: Slack rate limit, waiting ${s} s`),
                    );
                    await set({ files_uploaded: true });
                }
                await set({ status: 'complete', error: null });
                return { status: 'delivered', ts: ts!, recovered };
            } catch (err) {
                const f = err instanceof SlackCallError ? err.failure : { kind: 'unknown' as const, message: (err as Error).message };
                const posted = ts !== null && ts !== undefined;
                const error =
                    f.kind === 'api'
                        ? explainSlackError(f.code, message.channel)
                        : `no answer from Slack (${f.message}); ${posted ? 'the message is posted, the rerun retries the files alone' : 'the rerun checks Slack for the message before posting again'}`;
                // A definite refusal frees the claim; an unknown outcome keeps it for the check.
                await set({ status: posted ? 'posted' : f.kind === 'api' ? 'failed' : 'claimed', error });
                return { status: 'failed', error, posted };
            }
        } finally {
            await lockClient.query('select pg_advisory_unlock(hashtextextended($1, 11))', [message.digestId]);
        }
    } finally {
        lockClient.release();
    }
}

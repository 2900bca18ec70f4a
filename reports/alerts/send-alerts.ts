import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Pool } from 'pg';
import type { DB } from '../../pipelines/db/database.js';
import { writeOutput } from '../../pipelines/util/output-file.js';
import { deliverDigest } from '../digest/deliver-digest.js';
import type { SlackClient } from '../digest/slack.js';
import { requireMarts } from '../sections/section.js';
import { type Alert, findAlerts } from './find-alerts.js';

export interface SendAlertsOptions {
    /** The as-of day: data through this UTC day. */
    readonly day: string;
    /** Where alerts go when a budget names no channel of its own. */
    readonly alertChannel: string;
    /** Undefined: no token or --dry-run, the payloads are written to outDir/alerts. */
    readonly client: SlackClient | undefined;
    readonly outDir: string;
    readonly log: (line: string) => void;
}

export interface SentAlert {
    readonly alert: Alert;
    readonly channel: string;
    readonly status: 'delivered' | 'already_delivered' | 'superseded' | 'in_progress' | 'failed' | 'dry_run';
    readonly detail?: string;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 180);

/**
 * Each alert of the day, exactly once, through the digests' delivery records (ops.deliveries):
 * a rerun sends nothing new, a condition that cleared and came back is not sent again, and a
 * budget level is skipped once a worse one (soft after hard) went out for that month.
 */
export async function sendAlerts(pool: Pool, db: Kysely<DB>, options: SendAlertsOptions): Promise<SentAlert[]> {
    await requireMarts(db, 'alerts');
    const alerts = await findAlerts(db, options.day);
    const sent: SentAlert[] = [];
    for (const alert of alerts) {
        const channel = alert.channel ?? options.alertChannel;
        const deliveryId = `${alert.id}:${channel}`;
        const worse = alert.supersededBy.length
            ? (
                  await pool.query<{ n: number }>(
                      "select count(*)::int as n from ops.deliveries where kind = 'alert' and status = 'complete' and digest_id = any($1::text[])",
                      [alert.supersededBy.map((id) => `${id}:${channel}`)],
                  )
              ).rows[0].n
            : 0;
        if (worse) {
            sent.push({ alert, channel, status: 'superseded' });
            continue;
        }
        const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: alert.text } }];
        if (!options.client) {
            const path = join(options.outDir, 'alerts', `${safe(deliveryId)}.json`);
            writeOutput(path, `${JSON.stringify({ method: 'chat.postMessage', channel, text: alert.text, blocks }, null, 2)}\n`);
            options.log(`alerts: ${alert.tier} ${alert.id} -> ${path}`);
            sent.push({ alert, channel, status: 'dry_run', detail: path });
            continue;
        }
        const outcome = await deliverDigest(
            pool,
            options.client,
            { digestId: deliveryId, kind: 'alert', period: options.day, channel, text: alert.text, blocks },
            [],
            options.log,
        );
        options.log(`alerts: ${alert.tier} ${alert.id} to ${channel}: ${outcome.status}${outcome.status === 'failed' ? `: ${outcome.error}` : ''}`);
        sent.push({ alert, channel, status: outcome.status, detail: outcome.status === 'failed' ? outcome.error : undefined });
    }
    return sent;
}

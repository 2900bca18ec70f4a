import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface PostedMessage {
    readonly channel: string;
    readonly ts: string;
    readonly text: string;
    readonly blocks: unknown[];
    readonly metadata?: { event_type: string; event_payload: Record<string, unknown> };
    readonly threadFiles: { id: string; title: string; bytes: number }[];
}

/**
 * A local HTTP server speaking the Slack Web API methods tokenmart uses, with faults on demand:
 * rate limits, lost responses (work done, connection dropped), failed uploads, API errors.
 */
export class FakeSlack {
    readonly messages: PostedMessage[] = [];
    readonly calls: string[] = [];
    readonly channels = new Map([
        ['C0SPEND', 'llm-spend'],
        ['C0ALERT', 'data-alerts'],
        ['C0SUPPORT', 'support-llm-spend'],
        ['C0SEARCH', 'search-llm-spend'],
        ['C0PLATFORM', 'platform-llm-spend'],
    ]);
    rateLimitNext = new Map<string, number>();
    dropResponseNext = new Set<string>();
    errorNext = new Map<string, string>();
    failUploads = 0;
    token = 'xoxb-test';
    private server: Server | undefined;
    private seq = 1_700_000_000;
    private pendingFiles = new Map<string, { title: string; bytes: number }>();
    url = '';

    async start(): Promise<void> {
        this.server = createServer((req, res) => void this.handle(req, res));
        await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
        this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/api/`;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise((r) => this.server?.close(r));
    }

    private channelId(ch: string): string | undefined {
        if (this.channels.has(ch)) return ch;
        return [...this.channels].find(([, name]) => `#${name}` === ch || name === ch)?.[0];
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks);
        const url = new URL(req.url!, 'http://x');
        const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
            res.writeHead(status, { 'content-type': 'application/json', ...headers });
            res.end(JSON.stringify(body));
        };
        if (url.pathname.startsWith('/upload/')) {
            const id = url.pathname.split('/').pop()!;
            if (this.failUploads > 0) {
                this.failUploads--;
                return json(500, { ok: false });
            }
            const f = this.pendingFiles.get(id);
            if (f) f.bytes = raw.length;
            return json(200, { ok: true });
        }
        const method = url.pathname.replace('/api/', '');
        this.calls.push(method);
        const params = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
        const auth = req.headers.authorization ?? '';
        const limited = this.rateLimitNext.get(method) ?? 0;
        if (limited > 0) {
            this.rateLimitNext.set(method, limited - 1);
            return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
        }
        if (auth !== `Bearer ${this.token}`) return json(200, { ok: false, error: 'invalid_auth' });
        const forced = this.errorNext.get(method);
        if (forced) {
            this.errorNext.delete(method);
            return json(200, { ok: false, error: forced });
        }
        switch (method) {
            case 'chat.postMessage': {
                const channel = this.channelId(params.channel);
                if (!channel) return json(200, { ok: false, error: 'channel_not_found' });
                const ts = `${this.seq++}.000100`;
                this.messages.push({
                    channel,
                    ts,
                    text: params.text,
                    blocks: params.blocks ? JSON.parse(params.blocks) : [],
                    metadata: params.metadata ? JSON.parse(params.metadata) : undefined,
                    threadFiles: [],
                });
                if (this.dropResponseNext.delete(method)) {
                    req.socket.destroy(); // the message exists; the caller never hears about it
                    return;
                }
                return json(200, { ok: true, channel, ts, message: { text: params.text } });
            }
            case 'conversations.list':
                return json(200, { ok: true, channels: [...this.channels].map(([id, name]) => ({ id, name })), response_metadata: { next_cursor: '' } });
            case 'conversations.history': {
                const msgs = this.messages
                    .filter((m) => m.channel === params.channel)
                    .reverse()
                    .map((m) => ({ ts: m.ts, text: m.text, ...(params.include_all_metadata === 'true' && m.metadata ? { metadata: m.metadata } : {}) }));
                return json(200, { ok: true, messages: msgs, has_more: false, response_metadata: { next_cursor: '' } });
            }
            case 'files.getUploadURLExternal': {
                const id = `F${this.seq++}`;
                this.pendingFiles.set(id, { title: params.filename, bytes: 0 });
                return json(200, { ok: true, file_id: id, upload_url: `${this.url.replace('/api/', '')}/upload/${id}` });
            }
            case 'files.completeUploadExternal': {
                const files = JSON.parse(params.files) as { id: string; title?: string }[];
                const msg = this.messages.find((m) => m.ts === params.thread_ts && m.channel === params.channel_id);
                if (!msg) return json(200, { ok: false, error: 'invalid_thread_ts' });
                for (const f of files) msg.threadFiles.push({ id: f.id, title: f.title ?? '', bytes: this.pendingFiles.get(f.id)?.bytes ?? 0 });
                return json(200, { ok: true, files: files.map((f) => ({ id: f.id })) });
            }
            default:
                return json(200, { ok: false, error: 'unknown_method' });
        }
    }
}

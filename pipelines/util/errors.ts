/**
 * An error meant for a person: one line saying what failed, where, and the fix.
 * The CLI prints `message` alone (no stack) and exits non-zero.
 */
export class UserError extends Error {
    constructor(
        message: string,
        readonly exitCode = 1,
    ) {
        super(message);
        this.name = 'UserError';
    }
}

export function describeError(err: unknown): string {
    if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
    return String(err);
}

/** The database went away (restarted, shut down, network): the work in flight rolled back; rerunning resumes. */
export function isConnectionLoss(err: unknown): boolean {
    const e = err as { code?: string; message?: string };
    const code = e?.code ?? '';
    return (
        code.startsWith('08') ||
        ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code) ||
        /Connection terminated|the database system is (shutting down|starting up|in recovery mode)|Client has encountered a connection error/i.test(
            e?.message ?? '',
        )
    );
}

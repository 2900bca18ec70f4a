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

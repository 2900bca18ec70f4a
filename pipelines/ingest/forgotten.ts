import { createHash } from 'node:crypto';

/** Whose events are erased (`tokenmart forget`): the loader drops theirs, so a reload cannot bring them back. */
export type SubjectKind = 'user' | 'tenant';

/**
 * The identifier of an erased subject, as ops.erasures keeps it: a SHA-256, never the identifier.
 * It is computed on the identifier as the producer sent it (before any keyed hash of user_id).
 */
export function subjectHash(kind: SubjectKind, id: string): string {
    return createHash('sha256').update(`${kind}:${id}`).digest('hex');
}

export interface ForgottenSubjects {
    readonly users: ReadonlySet<string>;
    readonly tenants: ReadonlySet<string>;
}

export function isForgotten(forgotten: ForgottenSubjects | undefined, event: Record<string, unknown>): boolean {
    if (!forgotten) return false;
    const user = event.user_id;
    const tenant = event.tenant;
    return (
        (forgotten.users.size > 0 && typeof user === 'string' && forgotten.users.has(subjectHash('user', user))) ||
        (forgotten.tenants.size > 0 && typeof tenant === 'string' && forgotten.tenants.has(subjectHash('tenant', tenant)))
    );
}

import { UserError } from '../util/errors.js';

/** A --month flag: YYYY-MM, else one line naming the command and the fix. */
export function monthFlag(command: string, value: string): string {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value)) throw new UserError(`${command}: --month ${value} is not a month; use YYYY-MM (e.g. 2026-10)`);
    return value;
}

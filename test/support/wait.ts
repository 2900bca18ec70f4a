/** Polls `check` until it is true or the deadline passes (generous: CI machines are loaded). */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 20): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check().catch(() => false)) return true;
        await new Promise((r) => setTimeout(r, intervalMs));
    }
    return false;
}

/** Polls until `check` passes (vitest's expect inside) and returns what it returned, or throws its last failure. Runs in workerd and in Node. */
export async function eventually<T>(check: () => Promise<T>, timeout = 20_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

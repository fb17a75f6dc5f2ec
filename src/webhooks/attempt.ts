/** One HTTP attempt at a delivery: signed, 10 s at most, redirects not followed. */

export const ATTEMPT_TIMEOUT_MS = 10_000;
export const USER_AGENT = "Lattice-Webhooks/1.0 (+https://www.standardwebhooks.com/)";

/** The response status, or null when none came (timeout, refused connection, DNS). Only 2xx counts as delivered. */
export async function post(url: string, headers: Record<string, string>, body: string): Promise<number | null> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": USER_AGENT },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return null;
  }
}

export const delivered = (status: number | null) => status !== null && status >= 200 && status < 300;

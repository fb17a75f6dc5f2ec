/** Where an object's refusal becomes HTTP: one exhaustive table for every route. */
import { AppError, type ErrorCode } from "../errors";
import type { Outcome, Refusal, Refused } from "../room/outcome";

export function errorCode(reason: Refusal): ErrorCode {
  switch (reason) {
    case "gone":
    case "not_found":
      return "not_found";
    case "invalid_update":
    case "too_many_client_ids":
    case "unrestorable":
    case "unrenderable":
    case "bad_cursor":
      return "invalid_request";
    case "too_large":
      return "payload_too_large";
    case "rate_limited":
      return "rate_limited";
    case "storage_failed":
      return "internal";
    default: {
      const unmapped: never = reason;
      throw new Error(`unmapped refusal ${String(unmapped)}`);
    }
  }
}

/** The error a refusal answers with; a known wait goes out as Retry-After. */
export function refusalError(r: Refused): AppError {
  const headers = r.retryAfterSeconds === undefined ? undefined : { "retry-after": String(r.retryAfterSeconds) };
  return new AppError(errorCode(r.reason), r.message, undefined, headers);
}

/** The value of an object call, or its refusal thrown as the route's error. RPC results arrive wrapped: the plain type is named. */
export async function outcome<T>(call: Promise<unknown>): Promise<T> {
  const r = (await call) as Outcome<T>;
  if (!r.ok) throw refusalError(r);
  return r.value;
}

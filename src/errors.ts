import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The contract's error codes and the status each one answers with. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  // A secret is missing or weak (src/http/middleware.ts): the Worker refuses to serve until it is set.
  misconfigured: 500,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** An error that the one error handler turns into the contract's JSON envelope. */
export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Sent with the error (Retry-After with a known wait). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export function errorResponse(code: ErrorCode, message: string, details?: unknown): Response {
  return Response.json(new AppError(code, message, details).toBody(), { status: ERROR_STATUS[code] });
}

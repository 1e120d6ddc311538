// One domain error, thrown by `...OrThrow` helpers and mapped once at each edge (REST, tRPC, CLI).
export type DomainErrorCode =
  | "not_found"
  | "forbidden"
  | "unauthorized"
  | "bad_request"
  | "conflict"
  | "gone"
  | "rate_limited"
  | "unavailable"
  | "internal";

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const httpStatus: Record<DomainErrorCode, number> = {
  not_found: 404,
  forbidden: 403,
  unauthorized: 401,
  bad_request: 400,
  conflict: 409,
  gone: 410,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

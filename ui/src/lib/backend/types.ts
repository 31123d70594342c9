// The one interface the UI talks to. `tauri.ts` implements it over the generated bindings,
// `mock.ts` for Vitest and the web build. Nothing outside this folder imports `@tauri-apps/*`.
import type { AppInfo, ApiError, ErrorCode } from "./bindings";

export type {
  ApiError,
  AppInfo,
  ErrorCode,
  KeychainStatus,
  LocalServerStatus,
  Problem,
} from "./bindings";

/** What every generated command returns. */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

export interface Backend {
  /** The app's version, folders and keychain status. Throws a `BackendError`. */
  appInfo(): Promise<AppInfo>;
}

/** A failed backend call: the coded error the Rust side sent, or `internal` for anything else. */
export class BackendError extends Error {
  override readonly name = "BackendError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Every code, with what it means to a user. A `Record` so that a code added on the Rust side
 * fails `npm run check` until the UI knows how to name it.
 */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  unauthorized: "The key was rejected",
  keychain_unavailable: "The OS keychain is unavailable",
  session_gone: "The session no longer exists",
  quota_exceeded: "Quota or credit exhausted",
  rate_limited: "Too many requests",
  upstream_unavailable: "The provider cannot be reached",
  invalid_input: "Invalid input",
  invalid_response: "Unexpected answer from the provider",
  io: "Local file error",
  internal: "Internal error",
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_TITLES, value);
}

export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  return isErrorCode(code) && typeof message === "string";
}

/** Turns whatever a call threw or returned as its error into a `BackendError`. */
export function toBackendError(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  if (isApiError(error)) return new BackendError(error.code, error.message);
  if (error instanceof Error) return new BackendError("internal", error.message);
  return new BackendError("internal", String(error));
}

/** The value of an `ok` result; the error of an `error` result, thrown as a `BackendError`. */
export function unwrap<T>(result: Result<T, ApiError>): T {
  if (result.status === "ok") return result.data;
  throw toBackendError(result.error);
}

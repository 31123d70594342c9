import { getContext, setContext } from "svelte";
import { MockBackend, mockOptionsFromQuery } from "./mock";
import { TauriBackend } from "./tauri";
import type { Backend } from "./types";

export * from "./types";
export * from "./pairing";
export {
  demoEndedSessions,
  demoSessions,
  MockBackend,
  MockSessions,
  MOCK_APP_INFO,
  MOCK_AUTO_EXTEND_MESSAGE,
  MOCK_CLOUD_MACHINES,
  MOCK_CLOUD_RESOURCES,
  MOCK_DEMO_ACCOUNTS,
  MOCK_KEYCHAIN_MESSAGE,
  MOCK_LOCAL_ACCOUNT,
  MOCK_LOCAL_MACHINES,
  MOCK_LOCAL_RESOURCES,
  MOCK_MAX_MINUTES,
  MOCK_NO_PAIRING_MESSAGE,
  MOCK_PAIRING_BASE_URL,
  MOCK_PAIRING_FINGERPRINT,
  MOCK_PAIRING_REFUSED_MESSAGE,
  MOCK_QUIT_MARK,
  MOCK_REJECTED_KEY_MESSAGE,
  MOCK_RUNBOOKS,
  MOCK_SESSION_SPEED_MS,
  MOCK_START_AT_LOGIN_PREFIX,
  MOCK_THRESHOLD_MESSAGE,
  mockPairingString,
  type MockAccountSeed,
  type MockOptions,
} from "./mock";

function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/**
 * A new backend: the mock for the web build (`--mode mock`, where the Tauri code is left out of
 * the bundle) and outside Tauri (Vitest, a plain browser); the Rust commands inside Tauri.
 */
export function createBackend(): Backend {
  if (import.meta.env.MODE === "mock" || !insideTauri()) {
    return new MockBackend(mockOptionsFromQuery(globalThis.location?.search ?? ""));
  }
  return new TauriBackend();
}

let backend: Backend | undefined;

/** The app-wide backend, created on first use. */
export function getBackend(): Backend {
  backend ??= createBackend();
  return backend;
}

/** The Svelte context key; tests pass `context: new Map([[BACKEND_CONTEXT, mock]])` to `render`. */
export const BACKEND_CONTEXT = Symbol("porthole.backend");

/** Gives `backend` to this component's descendants. */
export function provideBackend(value: Backend): Backend {
  return setContext(BACKEND_CONTEXT, value);
}

/** The backend from context, or the app-wide one. Call during component initialisation. */
export function useBackend(): Backend {
  return getContext<Backend | undefined>(BACKEND_CONTEXT) ?? getBackend();
}

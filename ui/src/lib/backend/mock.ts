import { type AppInfo, type Backend, BackendError, type ErrorCode, isErrorCode } from "./types";

export interface MockOptions {
  /** What `appInfo()` answers when it does not fail. */
  appInfo?: AppInfo;
  /** Make `appInfo()` fail with this code... */
  failWith?: ErrorCode;
  /** ...on its first `failTimes` calls only (every call when absent). */
  failTimes?: number;
  /** The message of that failure. */
  failMessage?: string;
  /** Answer after this many milliseconds, to show loading states. */
  delayMs?: number;
}

export const MOCK_APP_INFO: AppInfo = {
  name: "Porthole",
  version: "0.1.0-mock",
  config_dir: "/home/demo/.config/porthole",
  data_dir: "/home/demo/.local/share/porthole",
  keychain: { usable: true, error: null },
  local_server: { state: "running", base_url: "http://127.0.0.1:7788/api", key_in_keychain: true },
};

/** A backend with no Rust behind it, for Vitest and for the web build that Playwright drives. */
export class MockBackend implements Backend {
  /** How many times `appInfo()` was called. */
  appInfoCalls = 0;
  #options: MockOptions;

  constructor(options: MockOptions = {}) {
    this.#options = options;
  }

  /** Changes how later calls answer (e.g. to let a failing call recover). */
  configure(options: MockOptions): void {
    this.#options = options;
  }

  async appInfo(): Promise<AppInfo> {
    this.appInfoCalls += 1;
    const { appInfo = MOCK_APP_INFO, failWith, failTimes, failMessage, delayMs = 0 } = this.#options;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (failWith && (failTimes === undefined || this.appInfoCalls <= failTimes)) {
      throw new BackendError(failWith, failMessage ?? `mock failure: ${failWith}`);
    }
    return structuredClone(appInfo);
  }
}

/**
 * Mock options from the web build's query string, so Playwright can ask for a given state:
 * `mock-fail=<code>`, `mock-fail-times=<n>`, `mock-delay=<ms>`, `mock-keychain=<code>`.
 */
export function mockOptionsFromQuery(search: string): MockOptions {
  const params = new URLSearchParams(search);
  const options: MockOptions = {};
  const fail = params.get("mock-fail");
  if (isErrorCode(fail)) options.failWith = fail;
  const times = Number(params.get("mock-fail-times"));
  if (params.has("mock-fail-times") && Number.isInteger(times) && times >= 0) {
    options.failTimes = times;
  }
  const delay = Number(params.get("mock-delay"));
  if (Number.isFinite(delay) && delay > 0) options.delayMs = delay;
  const keychain = params.get("mock-keychain");
  if (isErrorCode(keychain)) {
    options.appInfo = {
      ...MOCK_APP_INFO,
      keychain: {
        usable: false,
        error: { code: keychain, message: "No Secret Service provider is running on the session bus." },
      },
    };
  }
  return options;
}

import { afterEach, describe, expect, it } from "vitest";
import { createBackend } from "./index";
import { MOCK_APP_INFO, MockBackend, mockOptionsFromQuery } from "./mock";
import { TauriBackend } from "./tauri";

describe("MockBackend", () => {
  it("answers the configured app info", async () => {
    const info = { ...MOCK_APP_INFO, version: "9.9.9" };
    await expect(new MockBackend({ appInfo: info }).appInfo()).resolves.toEqual(info);
  });

  it("fails its first failTimes calls, then recovers", async () => {
    const mock = new MockBackend({ failWith: "rate_limited", failTimes: 1, failMessage: "slow down" });
    await expect(mock.appInfo()).rejects.toMatchObject({ code: "rate_limited", message: "slow down" });
    await expect(mock.appInfo()).resolves.toEqual(MOCK_APP_INFO);
    expect(mock.appInfoCalls).toBe(2);
  });

  it("reads its options from the web build's query string", () => {
    const options = mockOptionsFromQuery(
      "?mock-fail=upstream_unavailable&mock-fail-times=2&mock-delay=50&mock-keychain=keychain_unavailable",
    );
    expect(options).toMatchObject({ failWith: "upstream_unavailable", failTimes: 2, delayMs: 50 });
    expect(options.appInfo?.keychain).toMatchObject({
      usable: false,
      error: { code: "keychain_unavailable" },
    });
    expect(mockOptionsFromQuery("?mock-fail=not_a_code")).toEqual({});
  });
});

describe("createBackend", () => {
  afterEach(() => {
    delete (window as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__;
  });

  it("uses the mock outside Tauri", () => {
    expect(createBackend()).toBeInstanceOf(MockBackend);
  });

  it("uses the Rust commands inside Tauri", () => {
    Object.assign(window, { __TAURI_INTERNALS__: {} });
    expect(createBackend()).toBeInstanceOf(TauriBackend);
  });
});

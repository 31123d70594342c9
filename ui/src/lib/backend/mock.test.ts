import { afterEach, describe, expect, it } from "vitest";
import { createBackend } from "./index";
import {
  MOCK_APP_INFO,
  MOCK_DEMO_ACCOUNTS,
  MOCK_KEYCHAIN_MESSAGE,
  MOCK_REJECTED_KEY_MESSAGE,
  MockBackend,
  mockOptionsFromQuery,
} from "./mock";
import type { NewAccount } from "./types";
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
    expect(options.keychainError).toBe(MOCK_KEYCHAIN_MESSAGE);
    expect(mockOptionsFromQuery("?mock-fail=not_a_code")).toEqual({});
    expect(mockOptionsFromQuery("?mock-accounts=demo&mock-accounts-fail=io")).toEqual({
      accounts: MOCK_DEMO_ACCOUNTS,
      listAccountsFailWith: "io",
    });
  });
});

describe("MockBackend accounts", () => {
  const studio: NewAccount = {
    name: "Studio GPUs",
    provider: "comfy_deploy",
    base_url: "https://api.comfydeploy.com/api/",
    key: "cd_secret",
  };

  it("starts with the built-in Local account as the default", async () => {
    expect(await new MockBackend().listAccounts()).toEqual([
      {
        account: {
          id: "local",
          name: "Local",
          provider: "portholed",
          base_url: "http://127.0.0.1:7788/api",
          fields: {},
        },
        key: { state: "builtin" },
        is_default: true,
      },
    ]);
  });

  it("adds an account with an id made from its name and a key that is set", async () => {
    const mock = new MockBackend();
    const added = await mock.addAccount(studio);
    expect(added).toEqual({
      account: {
        id: "studio-gpus",
        name: "Studio GPUs",
        provider: "comfy_deploy",
        base_url: "https://api.comfydeploy.com/api",
        fields: {},
      },
      key: { state: "set" },
      is_default: false,
    });
    const again = await mock.addAccount({ ...studio, name: "Studio-GPUs!" });
    expect(again.account.id).toBe("studio-gpus-2");
    expect((await mock.listAccounts()).map((v) => v.account.id)).toEqual([
      "local",
      "studio-gpus",
      "studio-gpus-2",
    ]);
    expect(mock.accountCalls.join(" ")).not.toContain("cd_secret");
  });

  it("refuses what Rust refuses, with the same codes, and saves nothing then", async () => {
    const mock = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS });
    const refused = (account: Partial<NewAccount>) =>
      mock.addAccount({ ...studio, name: "New", ...account }).catch((e: unknown) => e);
    for (const key of ["wrong", "bad", "bad-token"]) {
      expect(await refused({ key })).toMatchObject({
        code: "unauthorized",
        message: MOCK_REJECTED_KEY_MESSAGE,
      });
    }
    expect(await refused({ base_url: "http://unreachable.example/api" })).toMatchObject({
      code: "upstream_unavailable",
    });
    expect(await refused({ name: " studio gpus " })).toMatchObject({
      code: "invalid_input",
      message: 'An account named "studio gpus" exists already. Choose another name.',
    });
    expect(await refused({ key: "  " })).toMatchObject({ code: "invalid_input" });
    expect(await refused({ name: "" })).toMatchObject({ code: "invalid_input" });
    expect(await refused({ base_url: "gpu-box:7788" })).toMatchObject({ code: "invalid_input" });
    expect(await mock.listAccounts()).toHaveLength(1 + MOCK_DEMO_ACCOUNTS.length);
  });

  it("cannot store keys while the keychain is unavailable", async () => {
    const mock = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS, keychainError: "locked" });
    const views = await mock.listAccounts();
    expect(views.map((v) => v.key)).toEqual([
      { state: "builtin" },
      ...MOCK_DEMO_ACCOUNTS.map(() => ({ state: "keychain_unavailable", message: "locked" })),
    ]);
    await expect(mock.addAccount({ ...studio, name: "New" })).rejects.toMatchObject({
      code: "keychain_unavailable",
    });
    await expect(mock.setAccountKey("gpu-box", "k")).rejects.toMatchObject({
      code: "keychain_unavailable",
    });
    await expect(mock.listAccounts()).resolves.toHaveLength(views.length);
  });

  it("sets keys, renames, tests, removes and moves the default", async () => {
    const mock = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS, defaultAccount: "studio-gpus" });
    await expect(mock.testAccount("gpu-box")).rejects.toMatchObject({ code: "unauthorized" });
    expect((await mock.setAccountKey("gpu-box", "fresh")).key).toEqual({ state: "set" });
    await expect(mock.testAccount("gpu-box")).resolves.toBeUndefined();
    await expect(mock.testAccount("old-team")).rejects.toMatchObject({ code: "unauthorized" });
    await expect(mock.testAccount("local")).resolves.toBeUndefined();
    await expect(mock.setAccountKey("local", "k")).rejects.toMatchObject({ code: "invalid_input" });

    expect((await mock.editAccount("gpu-box", { name: "Box" })).account.name).toBe("Box");
    await expect(mock.editAccount("gpu-box", { name: "local" })).rejects.toMatchObject({
      code: "invalid_input",
    });

    await expect(mock.removeAccount("local")).rejects.toMatchObject({
      code: "invalid_input",
      message: "The Local account is built in and cannot be removed.",
    });
    await mock.removeAccount("studio-gpus");
    const views = await mock.listAccounts();
    expect(views.map((v) => v.account.id)).toEqual(["local", "gpu-box", "old-team"]);
    expect(views.find((v) => v.is_default)?.account.id).toBe("local");
    expect((await mock.setDefaultAccount("old-team")).is_default).toBe(true);
    expect(mock.accountCalls).toContain("removeAccount studio-gpus");
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

import { beforeEach, describe, expect, it, vi } from "vitest";
import { MOCK_APP_INFO } from "./mock";
import { TauriBackend } from "./tauri";
import { type AccountView, BackendError } from "./types";

const { appInfo, accounts } = vi.hoisted(() => ({
  appInfo: vi.fn(),
  accounts: {
    listAccounts: vi.fn(),
    addAccount: vi.fn(),
    setAccountKey: vi.fn(),
    editAccount: vi.fn(),
    removeAccount: vi.fn(),
    testAccount: vi.fn(),
    setDefaultAccount: vi.fn(),
  },
}));
vi.mock("./bindings", () => ({ commands: { appInfo, ...accounts } }));

const VIEW: AccountView = {
  account: { id: "box", name: "Box", provider: "portholed", base_url: "http://box:7788/api", fields: {} },
  key: { state: "set" },
  is_default: false,
};

describe("TauriBackend", () => {
  beforeEach(() => appInfo.mockReset());

  it("unwraps an ok result into its data", async () => {
    appInfo.mockResolvedValue({ status: "ok", data: MOCK_APP_INFO });
    await expect(new TauriBackend().appInfo()).resolves.toEqual(MOCK_APP_INFO);
  });

  it("throws an error result as a BackendError with its code and message", async () => {
    appInfo.mockResolvedValue({
      status: "error",
      error: { code: "keychain_unavailable", message: "no Secret Service" },
    });
    const error = await new TauriBackend().appInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "keychain_unavailable", message: "no Secret Service" });
  });

  it("reports an IPC failure or an uncoded error as internal", async () => {
    appInfo.mockRejectedValue(new Error("IPC channel closed"));
    await expect(new TauriBackend().appInfo()).rejects.toMatchObject({
      code: "internal",
      message: "IPC channel closed",
    });
    appInfo.mockResolvedValue({ status: "error", error: "command app_info not found" });
    await expect(new TauriBackend().appInfo()).rejects.toMatchObject({
      code: "internal",
      message: "command app_info not found",
    });
  });
});

describe("TauriBackend accounts", () => {
  beforeEach(() => {
    for (const command of Object.values(accounts)) command.mockReset();
  });

  it("calls each generated command with its arguments and unwraps the answer", async () => {
    const backend = new TauriBackend();
    const ok = (data: unknown) => ({ status: "ok", data });
    accounts.listAccounts.mockResolvedValue(ok([VIEW]));
    await expect(backend.listAccounts()).resolves.toEqual([VIEW]);

    accounts.addAccount.mockResolvedValue(ok(VIEW));
    const input = { name: "Box", provider: "portholed" as const, base_url: "http://box:7788/api", key: "k" };
    await expect(backend.addAccount(input)).resolves.toEqual(VIEW);
    expect(accounts.addAccount).toHaveBeenCalledWith(input);

    accounts.setAccountKey.mockResolvedValue(ok(VIEW));
    await backend.setAccountKey("box", "k2");
    expect(accounts.setAccountKey).toHaveBeenCalledWith("box", "k2");

    accounts.editAccount.mockResolvedValue(ok(VIEW));
    await backend.editAccount("box", { name: "Big box" });
    expect(accounts.editAccount).toHaveBeenLastCalledWith("box", "Big box", null);
    await backend.editAccount("box", { baseUrl: "http://big:7788/api" });
    expect(accounts.editAccount).toHaveBeenLastCalledWith("box", null, "http://big:7788/api");

    accounts.removeAccount.mockResolvedValue(ok(null));
    await expect(backend.removeAccount("box")).resolves.toBeUndefined();
    expect(accounts.removeAccount).toHaveBeenCalledWith("box");

    accounts.testAccount.mockResolvedValue(ok(null));
    await expect(backend.testAccount("box")).resolves.toBeUndefined();
    expect(accounts.testAccount).toHaveBeenCalledWith("box");

    accounts.setDefaultAccount.mockResolvedValue(ok({ ...VIEW, is_default: true }));
    await expect(backend.setDefaultAccount("box")).resolves.toMatchObject({ is_default: true });
    expect(accounts.setDefaultAccount).toHaveBeenCalledWith("box");
  });

  it("throws an account command's coded error as a BackendError", async () => {
    accounts.addAccount.mockResolvedValue({
      status: "error",
      error: { code: "unauthorized", message: "The provider rejected the API key (401)" },
    });
    const error = await new TauriBackend()
      .addAccount({ name: "x", provider: "comfy_deploy", base_url: "https://x", key: "wrong" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "unauthorized" });

    accounts.removeAccount.mockResolvedValue({
      status: "error",
      error: { code: "keychain_unavailable", message: "locked" },
    });
    await expect(new TauriBackend().removeAccount("box")).rejects.toMatchObject({
      code: "keychain_unavailable",
      message: "locked",
    });
  });
});

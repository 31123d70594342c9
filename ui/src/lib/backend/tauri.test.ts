import { beforeEach, describe, expect, it, vi } from "vitest";
import { MOCK_APP_INFO } from "./mock";
import { TauriBackend } from "./tauri";
import { BackendError } from "./types";

const appInfo = vi.hoisted(() => vi.fn());
vi.mock("./bindings", () => ({ commands: { appInfo } }));

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

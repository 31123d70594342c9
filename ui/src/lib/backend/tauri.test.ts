import { beforeEach, describe, expect, it, vi } from "vitest";
import { MOCK_APP_INFO } from "./mock";
import { TauriBackend } from "./tauri";
import { type AccountView, BackendError, defaultAlertSettings } from "./types";

const { appInfo, accounts, sessions, settings, startup, listen, listenPairing } = vi.hoisted(() => ({
  appInfo: vi.fn(),
  accounts: {
    listAccounts: vi.fn(),
    addAccount: vi.fn(),
    setAccountKey: vi.fn(),
    editAccount: vi.fn(),
    removeAccount: vi.fn(),
    testAccount: vi.fn(),
    setDefaultAccount: vi.fn(),
    pairAccount: vi.fn(),
    readPairing: vi.fn(),
    offeredPairing: vi.fn(),
    dismissOfferedPairing: vi.fn(),
  },
  sessions: {
    listSessions: vi.fn(),
    endedSessions: vi.fn(),
    dismissEnded: vi.fn(),
    clearEnded: vi.fn(),
    launchSession: vi.fn(),
    extendSession: vi.fn(),
    stopSession: vi.fn(),
    listMachines: vi.fn(),
    listResources: vi.fn(),
    followLogs: vi.fn(),
    refreshSessions: vi.fn(),
    openSession: vi.fn(),
    sessionHistory: vi.fn(),
  },
  settings: {
    getSettings: vi.fn(),
    saveSettings: vi.fn(),
  },
  startup: {
    getStartAtLogin: vi.fn(),
    setStartAtLogin: vi.fn(),
    quitApp: vi.fn(),
  },
  listen: vi.fn(),
  listenPairing: vi.fn(),
}));
vi.mock("./bindings", () => ({
  commands: { appInfo, ...accounts, ...sessions, ...settings, ...startup },
  events: { sessionEvent: { listen }, pairingOffered: { listen: listenPairing } },
}));
// The real Channel needs Tauri's IPC; this one only holds the handler the backend sets.
vi.mock("@tauri-apps/api/core", () => ({
  Channel: class {
    onmessage: (message: unknown) => void = () => {};
  },
}));

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

  it("pairs through pair_account (a pasted string, or null for the offered one) and unwraps it", async () => {
    const backend = new TauriBackend();
    accounts.pairAccount.mockResolvedValue({ status: "ok", data: VIEW });
    await expect(backend.pairAccount("Box", "porthole-pair:v1:abc")).resolves.toEqual(VIEW);
    expect(accounts.pairAccount).toHaveBeenLastCalledWith("Box", "porthole-pair:v1:abc");
    await backend.pairAccount("Box", null);
    expect(accounts.pairAccount).toHaveBeenLastCalledWith("Box", null);

    accounts.pairAccount.mockResolvedValue({
      status: "error",
      error: { code: "certificate_mismatch", message: "box presented a certificate other than…" },
    });
    const error = await backend.pairAccount("Box", null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "certificate_mismatch", message: "box presented a certificate other than…" });
  });

  it("reads a pasted pairing string through read_pairing, unwrapping where it leads or why not", async () => {
    const backend = new TauriBackend();
    const offer = { base_url: "https://box:7788/api", fingerprint: `sha256:${"a".repeat(64)}` };
    accounts.readPairing.mockResolvedValue({ status: "ok", data: offer });
    await expect(backend.readPairing("porthole-pair:v1:abc")).resolves.toEqual(offer);
    expect(accounts.readPairing).toHaveBeenLastCalledWith("porthole-pair:v1:abc");

    const message = "That is not a pairing string: it is cut or altered. Run `portholed pair` on the server…";
    accounts.readPairing.mockResolvedValue({ status: "error", error: { code: "invalid_input", message } });
    const error = await backend.readPairing("porthole-pair:v1:ab").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "invalid_input", message });
    accounts.readPairing.mockRejectedValue(new Error("IPC channel closed"));
    await expect(backend.readPairing("x")).rejects.toMatchObject({ code: "internal" });
  });

  it("reads and dismisses the offered pairing (no Result), and passes offers on", async () => {
    const backend = new TauriBackend();
    const offer = { base_url: "https://box:7788/api", fingerprint: `sha256:${"a".repeat(64)}` };
    accounts.offeredPairing.mockResolvedValue(offer);
    await expect(backend.offeredPairing()).resolves.toEqual(offer);
    accounts.offeredPairing.mockResolvedValue(null);
    await expect(backend.offeredPairing()).resolves.toBeNull();
    accounts.dismissOfferedPairing.mockResolvedValue(null);
    await expect(backend.dismissOfferedPairing()).resolves.toBeUndefined();
    expect(accounts.dismissOfferedPairing).toHaveBeenCalledOnce();
    accounts.offeredPairing.mockRejectedValue(new Error("IPC channel closed"));
    await expect(backend.offeredPairing()).rejects.toMatchObject({ code: "internal" });

    const unlisten = vi.fn();
    let handler: (event: { payload: unknown }) => void = () => {};
    listenPairing.mockImplementation(async (cb: typeof handler) => {
      handler = cb;
      return unlisten;
    });
    const seen: unknown[] = [];
    const unsubscribe = backend.onPairingOffered((o) => seen.push(o));
    handler({ payload: offer });
    expect(seen).toEqual([offer]);
    // Once `listen` has answered, unsubscribing unlistens.
    await new Promise((resolve) => setTimeout(resolve, 0));
    unsubscribe();
    expect(unlisten).toHaveBeenCalledOnce();
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

describe("TauriBackend sessions", () => {
  beforeEach(() => {
    for (const command of Object.values(sessions)) command.mockReset();
    listen.mockReset();
  });

  const ok = (data: unknown) => ({ status: "ok", data });

  it("calls each session command with its arguments and unwraps the answer", async () => {
    const backend = new TauriBackend();
    sessions.listSessions.mockResolvedValue(ok([]));
    await expect(backend.listSessions(null)).resolves.toEqual([]);
    expect(sessions.listSessions).toHaveBeenCalledWith(null);

    const request = { machine_id: "terminal", resource: null, timeout_minutes: 15 };
    sessions.launchSession.mockResolvedValue(ok({ id: "s1" }));
    await expect(backend.launchSession("local", request)).resolves.toEqual({ id: "s1" });
    expect(sessions.launchSession).toHaveBeenCalledWith("local", request);

    sessions.extendSession.mockResolvedValue(ok(null));
    await expect(backend.extendSession("local", "s1", 15)).resolves.toBeUndefined();
    expect(sessions.extendSession).toHaveBeenCalledWith("local", "s1", 15);

    sessions.stopSession.mockResolvedValue(ok(null));
    await backend.stopSession("local", "s1");
    expect(sessions.stopSession).toHaveBeenCalledWith("local", "s1");

    sessions.listMachines.mockResolvedValue(ok([{ id: "terminal" }]));
    await expect(backend.listMachines("local")).resolves.toEqual([{ id: "terminal" }]);
    sessions.listResources.mockResolvedValue(ok([{ id: "CPU" }]));
    await expect(backend.listResources("local")).resolves.toEqual([{ id: "CPU" }]);

    sessions.openSession.mockResolvedValue(ok(null));
    await backend.openSession("local", "s1");
    expect(sessions.openSession).toHaveBeenCalledWith("local", "s1");

    sessions.refreshSessions.mockResolvedValue(undefined);
    await backend.refreshSessions();
    expect(sessions.refreshSessions).toHaveBeenCalled();
  });

  it("reads, dismisses and clears the ended sessions kept", async () => {
    const backend = new TauriBackend();
    const ended = [{ session: { id: "s1" }, ended_at: "2025-06-01T12:00:00Z" }];
    sessions.endedSessions.mockResolvedValue(ok(ended));
    await expect(backend.endedSessions()).resolves.toEqual(ended);

    sessions.dismissEnded.mockResolvedValue(ok(null));
    await expect(backend.dismissEnded("local", "s1")).resolves.toBeUndefined();
    expect(sessions.dismissEnded).toHaveBeenCalledWith("local", "s1");

    sessions.clearEnded.mockResolvedValue({ status: "error", error: { code: "io", message: "read-only" } });
    await expect(backend.clearEnded()).rejects.toMatchObject({ code: "io", message: "read-only" });
  });

  it("throws a session command's coded error", async () => {
    sessions.openSession.mockResolvedValue({
      status: "error",
      error: { code: "invalid_input", message: "not ready" },
    });
    const error = await new TauriBackend().openSession("local", "s1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "invalid_input", message: "not ready" });
  });

  it("streams log lines through a Channel until the command ends", async () => {
    sessions.followLogs.mockImplementation(
      async (_a: string, _s: string, channel: { onmessage: (line: unknown) => void }) => {
        channel.onmessage({ message: "one", level: "info", timestamp: "2025-06-01T12:00:00Z" });
        channel.onmessage({ message: "two", level: "warn" });
        return ok(null);
      },
    );
    const lines: unknown[] = [];
    await new TauriBackend().followLogs("local", "s1", (line) => lines.push(line));
    expect(lines).toEqual([
      { message: "one", level: "info", timestamp: "2025-06-01T12:00:00Z" },
      { message: "two", level: "warn", timestamp: null },
    ]);
  });

  it("passes session events on, and unsubscribes even before listen has answered", async () => {
    const unlisten = vi.fn();
    let handler: (event: { payload: unknown }) => void = () => {};
    let registered: (fn: () => void) => void = () => {};
    listen.mockImplementation((cb: typeof handler) => {
      handler = cb;
      return new Promise((resolve) => (registered = resolve));
    });
    const seen: unknown[] = [];
    const unsubscribe = new TauriBackend().onSessionEvent((event) => seen.push(event));
    handler({ payload: { kind: "online", account_id: "local" } });
    expect(seen).toEqual([{ kind: "online", account_id: "local" }]);
    unsubscribe();
    handler({ payload: { kind: "online", account_id: "late" } });
    expect(seen).toHaveLength(1);
    registered(unlisten);
    await vi.waitFor(() => expect(unlisten).toHaveBeenCalledTimes(1));
  });
});

describe("TauriBackend settings", () => {
  beforeEach(() => {
    for (const command of Object.values(settings)) command.mockReset();
  });

  it("answers a session's history as the command sends it (no Result); a failed call is internal", async () => {
    const history = [
      { at: "2025-06-01T12:00:00Z", kind: "launched" as const },
      { at: "2025-06-01T12:20:00Z", kind: "extended" as const, minutes: 15, automatic: true },
    ];
    sessions.sessionHistory.mockResolvedValue(history);
    await expect(new TauriBackend().sessionHistory("local", "s1")).resolves.toEqual(history);
    expect(sessions.sessionHistory).toHaveBeenCalledWith("local", "s1");

    sessions.sessionHistory.mockRejectedValue("command session_history not found");
    await expect(new TauriBackend().sessionHistory("local", "s1")).rejects.toMatchObject({
      code: "internal",
      message: "command session_history not found",
    });
  });

  it("answers the settings as the command sends them (no Result), and saves through unwrap", async () => {
    const backend = new TauriBackend();
    const saved = { ...defaultAlertSettings(), warn_before_minutes: [30, 5] };
    settings.getSettings.mockResolvedValue(saved);
    await expect(backend.getSettings()).resolves.toEqual(saved);

    settings.saveSettings.mockResolvedValue({ status: "ok", data: null });
    await expect(backend.saveSettings(saved)).resolves.toBeUndefined();
    expect(settings.saveSettings).toHaveBeenCalledWith(saved);
  });

  it("throws a refused save as its coded error, and a failed read as internal", async () => {
    settings.saveSettings.mockResolvedValue({
      status: "error",
      error: { code: "invalid_input", message: "Warning thresholds are between 1 minute and 24 hours." },
    });
    const error = await new TauriBackend().saveSettings(defaultAlertSettings()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "invalid_input" });

    settings.getSettings.mockRejectedValue("command get_settings not found");
    await expect(new TauriBackend().getSettings()).rejects.toMatchObject({
      code: "internal",
      message: "command get_settings not found",
    });
  });
});

describe("TauriBackend start at login", () => {
  beforeEach(() => {
    for (const command of Object.values(startup)) command.mockReset();
  });

  it("reads and sets it through unwrap", async () => {
    const backend = new TauriBackend();
    startup.getStartAtLogin.mockResolvedValue({ status: "ok", data: true });
    await expect(backend.getStartAtLogin()).resolves.toBe(true);

    startup.setStartAtLogin.mockResolvedValue({ status: "ok", data: null });
    await expect(backend.setStartAtLogin(false)).resolves.toBeUndefined();
    expect(startup.setStartAtLogin).toHaveBeenCalledWith(false);
  });

  it("quits through quit_app, saying whether Local sessions keep running", async () => {
    startup.quitApp.mockResolvedValue({ status: "ok", data: null });
    await expect(new TauriBackend().quit(true)).resolves.toBeUndefined();
    expect(startup.quitApp).toHaveBeenCalledWith(true);
  });

  it("throws a refused change as its coded error, and a failed call as internal", async () => {
    const message = "Starting at login could not be changed: Permission denied (os error 13)";
    startup.setStartAtLogin.mockResolvedValue({ status: "error", error: { code: "io", message } });
    const error = await new TauriBackend().setStartAtLogin(true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "io", message });

    startup.getStartAtLogin.mockRejectedValue("command get_start_at_login not found");
    await expect(new TauriBackend().getStartAtLogin()).rejects.toMatchObject({
      code: "internal",
      message: "command get_start_at_login not found",
    });
  });
});

import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import App from "./App.svelte";
import {
  BACKEND_CONTEXT,
  demoSessions,
  MOCK_APP_INFO,
  MOCK_DEMO_ACCOUNTS,
  MOCK_PAIRING_BASE_URL,
  MOCK_PAIRING_FINGERPRINT,
  MockBackend,
  type MockOptions,
  mockPairingString,
  shortFingerprint,
} from "./lib/backend";

function renderApp(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const result = render(App, { context: new Map([[BACKEND_CONTEXT, backend]]) });
  return { backend, ...result };
}

describe("App", () => {
  it("shows the session list's empty state", async () => {
    renderApp();
    const empty = await screen.findByTestId("session-list-empty");
    expect(within(empty).getByRole("heading", { name: "No sessions yet" })).toBeTruthy();
    expect(empty.textContent).toMatch(/built-in Local account or a cloud account/);
    expect(empty.textContent).toMatch(/live countdown/);
    expect(screen.queryAllByTestId("session-row")).toHaveLength(0);
  });

  it("shows a loading state until the app info answers", async () => {
    renderApp({ delayMs: 30 });
    expect(screen.getByTestId("app-info-loading").getAttribute("aria-busy")).toBe("true");
    expect(screen.queryByTestId("app-info")).toBeNull();
    await screen.findByTestId("app-info");
    expect(screen.queryByTestId("app-info-loading")).toBeNull();
  });

  it("shows the version and folders from the backend", async () => {
    renderApp({
      appInfo: { ...MOCK_APP_INFO, version: "1.2.3", config_dir: "/cfg/ph", data_dir: "/data/ph" },
    });
    await screen.findByTestId("app-info");
    expect(screen.getByTestId("app-info-version").textContent).toBe("1.2.3");
    expect(screen.getByTestId("app-info-config-dir").textContent).toBe("/cfg/ph");
    expect(screen.getByTestId("app-info-data-dir").textContent).toBe("/data/ph");
    expect(screen.getByTestId("app-version").textContent).toBe("v1.2.3");
    expect(within(screen.getByTestId("app-header")).getByRole("heading").textContent).toBe(
      "Porthole",
    );
  });

  it("shows a usable keychain as available", async () => {
    renderApp();
    const status = await screen.findByTestId("keychain-status");
    expect(status.dataset.usable).toBe("true");
    expect(status.textContent).toMatch(/Available/);
  });

  it("shows an unusable keychain with its code and message", async () => {
    renderApp({
      appInfo: {
        ...MOCK_APP_INFO,
        keychain: {
          usable: false,
          error: { code: "keychain_unavailable", message: "No Secret Service on the bus." },
        },
      },
    });
    const status = await screen.findByTestId("keychain-status");
    expect(status.dataset.usable).toBe("false");
    expect(status.textContent).toMatch(/Unavailable/);
    expect(status.textContent).toContain("keychain_unavailable");
    expect(status.textContent).toContain("No Secret Service on the bus.");
  });

  it("shows a failed app info call with its code, and Retry recovers", async () => {
    const { backend } = renderApp({
      failWith: "upstream_unavailable",
      failMessage: "backend not answering",
      failTimes: 1,
    });
    const error = await screen.findByTestId("app-error");
    expect(error.getAttribute("role")).toBe("alert");
    await waitFor(() => expect(screen.getByTestId("about-panel").hidden).toBe(false));
    expect(error.textContent).toContain("upstream_unavailable");
    expect(error.textContent).toContain("backend not answering");
    expect(screen.queryByTestId("app-info")).toBeNull();
    expect(backend.appInfoCalls).toBe(1);

    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    await screen.findByTestId("app-info");
    expect(backend.appInfoCalls).toBe(2);
    expect(screen.queryByTestId("app-error")).toBeNull();
    await waitFor(() =>
      expect(document.activeElement?.textContent).toBe("About Porthole"),
    );
  });

  it("has keyboard shortcuts: Ctrl+N launches, Ctrl+R refreshes, Ctrl+F filters, Ctrl+, opens Settings", async () => {
    const { backend } = renderApp();
    await waitFor(() => expect(screen.getByTestId("launch-open").hasAttribute("disabled")).toBe(false));
    const ctrl = (key: string, target: Element = document.body) =>
      fireEvent.keyDown(target, { key, ctrlKey: true, bubbles: true, cancelable: true });

    // Ctrl+R does what Refresh does, and the webview does not reload.
    expect(await ctrl("r")).toBe(false);
    expect(backend.sessions.calls).toContain("refresh");
    expect(screen.getByTestId("sessions-refresh").getAttribute("aria-keyshortcuts")).toBe("Control+R");

    await ctrl(",");
    expect(screen.getByTestId("view-settings").getAttribute("aria-current")).toBe("page");
    // From another screen, Ctrl+F brings the list back with its filter focused.
    await ctrl("f");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("session-filter")));
    // Typing in the filter, Ctrl+N is not a launch; elsewhere it is.
    await ctrl("n", screen.getByTestId("session-filter"));
    expect(screen.queryByTestId("launch-dialog")).toBeNull();
    await ctrl("n");
    expect(await screen.findByTestId("launch-dialog")).toBeTruthy();
    // Ctrl+, works while typing too.
    await ctrl(",", screen.getByTestId("session-filter"));
    expect(screen.getByTestId("view-settings").getAttribute("aria-current")).toBe("page");
  });

  it("switches between the Sessions and Accounts screens from the header", async () => {
    renderApp();
    const nav = screen.getByRole("navigation", { name: "Screens" });
    const sessions = within(nav).getByRole("button", { name: "Sessions" });
    const accounts = within(nav).getByRole("button", { name: "Accounts" });
    expect(sessions.getAttribute("aria-current")).toBe("page");
    expect(accounts.getAttribute("aria-current")).toBeNull();

    await fireEvent.click(accounts);
    expect(accounts.getAttribute("aria-current")).toBe("page");
    expect(sessions.getAttribute("aria-current")).toBeNull();
    expect(screen.queryByTestId("session-list")).toBeNull();
    await screen.findByTestId("account-list");
    expect(screen.getByRole("heading", { name: "Accounts" })).toBeTruthy();

    await fireEvent.click(sessions);
    expect(screen.getByTestId("session-list")).toBeTruthy();
    expect(screen.queryByTestId("accounts-screen")).toBeNull();
  });

  it("opens the Settings screen from the header, and shows what was saved on a later visit", async () => {
    renderApp();
    const nav = screen.getByRole("navigation", { name: "Screens" });
    const settings = within(nav).getByRole("button", { name: "Settings" });
    await fireEvent.click(settings);
    expect(settings.getAttribute("aria-current")).toBe("page");
    expect(screen.getByRole("heading", { name: "Settings", level: 2 })).toBeTruthy();
    const notifications = (await screen.findByLabelText("Show desktop notifications")) as HTMLInputElement;
    expect(notifications.checked).toBe(true);
    await fireEvent.click(notifications);
    await fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));

    await fireEvent.click(within(nav).getByRole("button", { name: "Sessions" }));
    expect(screen.queryByTestId("settings-screen")).toBeNull();
    await fireEvent.click(settings);
    const again = (await screen.findByLabelText("Show desktop notifications")) as HTMLInputElement;
    expect(again.checked).toBe(false);
  });

  it("keeps an ended session, with why, across a visit to the Accounts screen", async () => {
    const { backend } = renderApp({ sessions: demoSessions(Date.now()), sessionSpeedMs: 10 });
    const row = await screen.findByText("shell");
    expect(row).toBeTruthy();
    await backend.stopSession("local", "demo-shell");
    await waitFor(() =>
      expect(screen.getByTestId("session-end-reason").textContent).toBe("Stopped"),
    );
    await fireEvent.click(screen.getByRole("button", { name: "Accounts" }));
    await fireEvent.click(screen.getByRole("button", { name: "Sessions" }));
    expect((await screen.findByTestId("session-end-reason")).textContent).toBe("Stopped");
  });

  it("keeps machine names across a visit to the Accounts screen", async () => {
    // Every backend call takes 50 ms: a name asked for again would not be there at once.
    renderApp({ accounts: MOCK_DEMO_ACCOUNTS, sessions: demoSessions(Date.now()), delayMs: 50 });
    const machine = () =>
      document.querySelector('[data-session-id="demo-flux"] [data-testid="session-machine"]')?.textContent?.trim();
    await waitFor(() => expect(machine()).toBe("flux-dev · A100"));
    await fireEvent.click(screen.getByRole("button", { name: "Accounts" }));
    await fireEvent.click(screen.getByRole("button", { name: "Sessions" }));
    // At once: not the machine's id first while its account's machines are asked for again.
    expect(machine()).toBe("flux-dev · A100");
  });

  it("keeps the About panel closed when all is well, and shows and hides it from its header button", async () => {
    renderApp();
    await screen.findByTestId("app-info");
    const toggle = screen.getByRole("button", { name: "About" });
    const panel = document.getElementById(toggle.getAttribute("aria-controls") ?? "");
    expect(panel?.contains(screen.getByTestId("app-info"))).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(panel?.hidden).toBe(true);

    await fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(panel?.hidden).toBe(false);

    await fireEvent.click(toggle);
    expect(panel?.hidden).toBe(true);
  });

  it("opens the About panel by itself when the keychain cannot be used, the Local server failed or the settings could not be read", async () => {
    for (const appInfo of [
      { ...MOCK_APP_INFO, keychain: { usable: false, error: { code: "keychain_unavailable" as const, message: "no bus" } } },
      { ...MOCK_APP_INFO, local_server: { state: "failed" as const, error: { code: "io" as const, message: "port taken" } } },
      { ...MOCK_APP_INFO, settings_problem: { code: "invalid_input" as const, message: "settings.json is not valid" } },
    ]) {
      const { unmount } = renderApp({ appInfo });
      await screen.findByTestId("app-info");
      await waitFor(() => expect(screen.getByTestId("about-panel").hidden).toBe(false));
      expect(screen.getByRole("button", { name: "About" }).getAttribute("aria-expanded")).toBe("true");
      unmount();
    }
  });

  it("says why the settings file could not be read, and says nothing when it could", async () => {
    const { unmount } = renderApp();
    await screen.findByTestId("app-info");
    expect(screen.queryByTestId("app-info-settings-problem")).toBeNull();
    unmount();
    const problem = { code: "invalid_input" as const, message: "settings.json is not valid (EOF); kept as a backup" };
    renderApp({ appInfo: { ...MOCK_APP_INFO, settings_problem: problem } });
    const shown = await screen.findByTestId("app-info-settings-problem");
    expect(shown.textContent).toContain(problem.message);
    expect(shown.dataset.code).toBe("invalid_input");
  });

  it("leaves the About panel as the person set it, even when a problem turns up after", async () => {
    const keychain = { usable: false, error: { code: "keychain_unavailable" as const, message: "locked" } };
    renderApp({ delayMs: 30, appInfo: { ...MOCK_APP_INFO, keychain } });
    const toggle = screen.getByRole("button", { name: "About" });
    await fireEvent.click(toggle);
    await fireEvent.click(toggle);
    await screen.findByTestId("app-info");
    expect(screen.getByTestId("keychain-status").dataset.usable).toBe("false");
    expect(screen.getByTestId("about-panel").hidden).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
  });

  it("shows a pairing a link offers on the Accounts screen, to name and pair", async () => {
    const { backend } = renderApp();
    await screen.findByTestId("session-list-empty");
    backend.offerPairing(`porthole://pair?code=${mockPairingString()}`);

    const form = await screen.findByRole("form", { name: "Pair with a server" });
    const accounts = within(screen.getByRole("navigation", { name: "Screens" })).getByRole("button", {
      name: "Accounts",
    });
    expect(accounts.getAttribute("aria-current")).toBe("page");
    expect(screen.getByRole("heading", { name: `Pair with ${MOCK_PAIRING_BASE_URL}` })).toBeTruthy();
    const fingerprint = screen.getByTestId("pair-offer-fingerprint");
    expect(fingerprint.textContent).toBe(shortFingerprint(MOCK_PAIRING_FINGERPRINT));
    expect(fingerprint.title).toBe(MOCK_PAIRING_FINGERPRINT);
    await fireEvent.input(within(form).getByLabelText("Name"), { target: { value: "Render box" } });
    await fireEvent.click(within(form).getByRole("button", { name: "Pair" }));

    await waitFor(() => expect(screen.queryByTestId("add-account")).toBeNull());
    expect(backend.accountCalls).toContain("pairAccount offered");
    const added = (await backend.listAccounts()).find((v) => v.account.name === "Render box");
    expect(added?.account.fields.tls_fingerprint).toBe(MOCK_PAIRING_FINGERPRINT);
  });

  it("shows a pairing offered by the link that started the app; Cancel forgets it", async () => {
    const { backend } = renderApp({ offeredPairing: mockPairingString() });
    const form = await screen.findByRole("form", { name: "Pair with a server" });
    expect(screen.getByTestId("pair-offer-address").textContent).toBe(MOCK_PAIRING_BASE_URL);
    await fireEvent.click(within(form).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(backend.accountCalls).toContain("dismissOfferedPairing"));
    expect(screen.queryByTestId("add-account")).toBeNull();
    expect(await backend.offeredPairing()).toBeNull();
    expect(backend.accountCalls).not.toContain("pairAccount offered");
  });
});

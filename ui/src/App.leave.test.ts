// Leaving: Ctrl+Q, and what it asks first (Local sessions running, settings not saved).
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import App from "./App.svelte";
import {
  BACKEND_CONTEXT,
  demoSessions,
  LOCAL_ACCOUNT_ID,
  MockBackend,
  type MockOptions,
  mockPairingString,
} from "./lib/backend";

async function renderApp(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  render(App, { context: new Map([[BACKEND_CONTEXT, backend]]) });
  await waitFor(() => expect(screen.getByTestId("launch-open").hasAttribute("disabled")).toBe(false));
  return backend;
}

const ctrl = (key: string, target: Element = document.activeElement ?? document.body) =>
  fireEvent.keyDown(target, { key, ctrlKey: true, bubbles: true, cancelable: true });

const tab = (shiftKey = false) =>
  fireEvent.keyDown(document.activeElement!, { key: "Tab", shiftKey, bubbles: true, cancelable: true });

const header = (name: string) =>
  within(screen.getByRole("navigation", { name: "Screens" })).getByRole("button", { name });

describe("Relaunch from an ended session's window", () => {
  it("launches it again alike in the main window, once the list holds it", async () => {
    const backend = await renderApp({ sessions: demoSessions(Date.now()), sessionSpeedMs: 20 });
    await screen.findAllByTestId("session-row");
    await backend.stopSession(LOCAL_ACCOUNT_ID, "demo-shell");
    await waitFor(() => expect(screen.getByRole("row", { name: /^shell, / }).dataset.state).toBe("ended"));
    const before = backend.sessions.list(LOCAL_ACCOUNT_ID).length;

    backend.showFromOutside({ accountId: LOCAL_ACCOUNT_ID, sessionId: "demo-shell", relaunch: true });
    await waitFor(() => expect(backend.sessions.list(LOCAL_ACCOUNT_ID)).toHaveLength(before + 1), { timeout: 3000 });
    const relaunched = backend.sessions.list(LOCAL_ACCOUNT_ID).find((s) => s.id.startsWith("s-"))!;
    expect(relaunched).toMatchObject({ machine_id: "terminal", resource: "CPU" });
    await waitFor(() =>
      expect(screen.getByTestId("sessions-notice").textContent).toBe(`${relaunched.name} is open in its own window.`),
    );
  });
});

describe("Ctrl+Q", () => {
  it("quits at once, stopping nothing asked about, when no Local session runs", async () => {
    const cloudOnly = demoSessions(Date.now()).filter((s) => s.account_id !== LOCAL_ACCOUNT_ID);
    const backend = await renderApp({ sessions: cloudOnly });
    await screen.findAllByTestId("session-row");
    // While typing too.
    expect(await ctrl("q", screen.getByTestId("session-filter"))).toBe(false);
    expect(screen.queryByTestId("quit-dialog")).toBeNull();
    expect(backend.quitCalls).toEqual([false]);
  });

  it("asks whether to keep running Local sessions: keep them, stop them, or cancel", async () => {
    const backend = await renderApp({ sessions: demoSessions(Date.now()) });
    await screen.findAllByTestId("session-row");
    const refresh = screen.getByTestId("sessions-refresh");
    refresh.focus();
    await ctrl("q");

    const dialog = screen.getByRole("alertdialog", { name: "Quit Porthole?" });
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(dialog.textContent).toContain("2 Local sessions run on this machine.");
    const buttons = within(dialog).getAllByRole("button");
    expect(buttons.map((b) => b.textContent)).toEqual(["Keep them running", "Stop them and quit", "Cancel"]);
    // The first one has the focus, and Tab stays in the dialog.
    expect(document.activeElement).toBe(buttons[0]);
    await tab(true);
    expect(document.activeElement).toBe(buttons[2]);
    await tab();
    expect(document.activeElement).toBe(buttons[0]);
    // Other shortcuts do nothing behind it.
    await ctrl("n");
    expect(screen.queryByTestId("launch-dialog")).toBeNull();

    await fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    expect(screen.queryByTestId("quit-dialog")).toBeNull();
    expect(backend.quitCalls).toEqual([]);
    expect(document.activeElement).toBe(refresh);

    await ctrl("q");
    await fireEvent.click(screen.getByRole("button", { name: "Stop them and quit" }));
    expect(backend.quitCalls).toEqual([false]);
    await ctrl("q");
    await fireEvent.click(screen.getByRole("button", { name: "Keep them running" }));
    expect(backend.quitCalls).toEqual([false, true]);
    await ctrl("q");
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(backend.quitCalls).toEqual([false, true]);
  });

  it("counts only live Local sessions, in the singular for one", async () => {
    const sessions = demoSessions(Date.now()).filter((s) => s.id !== "demo-notebook");
    await renderApp({ sessions, sessionSpeedMs: 10 });
    await screen.findAllByTestId("session-row");
    await ctrl("q");
    expect(screen.getByTestId("quit-dialog").textContent).toContain("1 Local session runs on this machine.");
  });
});

describe("leaving Settings with changes not saved", () => {
  async function editSettings() {
    await fireEvent.click(header("Settings"));
    const notifications = (await screen.findByLabelText("Show desktop notifications")) as HTMLInputElement;
    await fireEvent.click(notifications);
    return notifications;
  }

  it("asks first: Keep editing (or Escape) stays with the changes, Discard leaves without them", async () => {
    const backend = await renderApp();
    const notifications = await editSettings();
    await fireEvent.click(header("Sessions"));

    const dialog = screen.getByRole("alertdialog", { name: "Discard unsaved changes?" });
    const buttons = within(dialog).getAllByRole("button");
    expect(buttons.map((b) => b.textContent)).toEqual(["Keep editing", "Discard"]);
    expect(document.activeElement).toBe(buttons[0]);
    await fireEvent.click(buttons[0]!);
    expect(header("Settings").getAttribute("aria-current")).toBe("page");
    expect(notifications.checked).toBe(false);

    // A shortcut that leaves asks too; Escape keeps editing.
    await ctrl("n");
    await fireEvent.keyDown(screen.getByTestId("discard-dialog"), { key: "Escape" });
    expect(screen.queryByTestId("discard-dialog")).toBeNull();
    expect(screen.queryByTestId("launch-dialog")).toBeNull();
    expect(notifications.checked).toBe(false);

    await ctrl("n");
    await fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    expect(header("Sessions").getAttribute("aria-current")).toBe("page");
    expect(await screen.findByTestId("launch-dialog")).toBeTruthy();
    expect(backend.settingsCalls.save).toBe(0);

    // Nothing was saved; with nothing changed, leaving asks nothing.
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await fireEvent.click(header("Settings"));
    expect(((await screen.findByLabelText("Show desktop notifications")) as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(header("Accounts"));
    expect(screen.queryByTestId("discard-dialog")).toBeNull();
    expect(header("Accounts").getAttribute("aria-current")).toBe("page");
  });

  it("asks nothing once the changes are saved", async () => {
    await renderApp();
    await editSettings();
    await fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));
    await fireEvent.click(header("Sessions"));
    expect(screen.queryByTestId("discard-dialog")).toBeNull();
    expect(header("Sessions").getAttribute("aria-current")).toBe("page");
  });

  it("asks before showing a pairing a link offers; kept editing, the offer waits on Accounts", async () => {
    const backend = await renderApp();
    await editSettings();
    backend.offerPairing(mockPairingString());
    await fireEvent.click(await screen.findByRole("button", { name: "Keep editing" }));
    expect(header("Settings").getAttribute("aria-current")).toBe("page");

    await fireEvent.click(header("Accounts"));
    await fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    expect(await screen.findByRole("form", { name: "Pair with a server" })).toBeTruthy();
  });

  it("asks before Ctrl+Q too, then quits", async () => {
    const backend = await renderApp();
    await editSettings();
    await ctrl("q");
    expect(backend.quitCalls).toEqual([]);
    await fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    // No Local session runs: it quits at once.
    expect(backend.quitCalls).toEqual([false]);
  });
});

import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import {
  BACKEND_CONTEXT,
  defaultAlertSettings,
  MOCK_START_AT_LOGIN_PREFIX,
  MockBackend,
  type MockOptions,
} from "../backend";
import SettingsScreen from "./SettingsScreen.svelte";

function renderScreen(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const result = render(SettingsScreen, { context: new Map([[BACKEND_CONTEXT, backend]]) });
  return { backend, ...result };
}

const LABEL = "Start Porthole when I log in";

async function findSwitch(): Promise<HTMLInputElement> {
  return (await screen.findByLabelText(LABEL)) as HTMLInputElement;
}

function status(): string {
  return screen.getByTestId("settings-start-at-login-status").textContent?.trim() ?? "";
}

describe("SettingsScreen: start at login", () => {
  it("loads its state with the screen, off by default, in its own Startup group", async () => {
    renderScreen({ delayMs: 20 });
    expect(screen.getByTestId("settings-start-at-login-loading").getAttribute("role")).toBe("status");
    const toggle = await findSwitch();
    expect(toggle.checked).toBe(false);
    expect(toggle.type).toBe("checkbox");
    expect(toggle.dataset.testid).toBe("settings-start-at-login");
    expect(toggle.getAttribute("aria-disabled")).toBeNull();

    const group = screen.getByRole("group", { name: "Startup" });
    expect(within(group).getByLabelText(LABEL)).toBe(toggle);
    // Not part of the alert settings form, and it says it needs no Save.
    const form = await screen.findByRole("form", { name: "Alert settings" });
    expect(form.contains(toggle)).toBe(false);
    const hint = document.getElementById(toggle.getAttribute("aria-describedby") ?? "");
    expect(hint?.textContent?.trim()).toBe("Applies immediately.");
  });

  it("shows it on when it is on", async () => {
    renderScreen({ startAtLogin: true });
    expect((await findSwitch()).checked).toBe(true);
  });

  it("applies a toggle at once through the backend, without touching the alert settings", async () => {
    const { backend } = renderScreen({ delayMs: 20 });
    const toggle = await findSwitch();
    await screen.findByRole("form", { name: "Alert settings" });

    await fireEvent.click(toggle);
    expect(toggle.checked).toBe(true);
    expect(toggle.getAttribute("aria-disabled")).toBe("true");
    expect(screen.getByTestId("settings-startup").getAttribute("aria-busy")).toBe("true");
    // A second toggle while the first is in flight is refused.
    await fireEvent.click(toggle);
    expect(toggle.checked).toBe(true);
    expect(backend.startAtLoginCalls).toEqual([true]);

    await waitFor(() => expect(status()).toBe("Porthole will start when you log in."));
    expect(toggle.getAttribute("aria-disabled")).toBeNull();
    expect(await backend.getStartAtLogin()).toBe(true);
    expect(backend.settingsCalls.save).toBe(0);
    expect((screen.getByTestId("settings-save") as HTMLButtonElement).disabled).toBe(true);

    await fireEvent.click(toggle);
    await waitFor(() => expect(status()).toBe("Porthole will not start when you log in."));
    expect(toggle.checked).toBe(false);
    expect(await backend.getStartAtLogin()).toBe(false);
    expect(backend.startAtLoginCalls).toEqual([true, false]);
  });

  it("is kept across visits to the screen", async () => {
    const backend = new MockBackend();
    const context = new Map([[BACKEND_CONTEXT, backend]]);
    const first = render(SettingsScreen, { context });
    await fireEvent.click(await findSwitch());
    await waitFor(() => expect(status()).toBe("Porthole will start when you log in."));
    first.unmount();

    render(SettingsScreen, { context });
    expect((await findSwitch()).checked).toBe(true);
  });

  it("goes back and shows the error when the change fails, and works once it can", async () => {
    const { backend } = renderScreen({ setStartAtLoginFailWith: "io" });
    const toggle = await findSwitch();
    await fireEvent.click(toggle);

    const error = await screen.findByTestId("settings-start-at-login-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.dataset.code).toBe("io");
    expect(error.textContent).toContain("Local file error");
    expect(error.textContent).toContain(`${MOCK_START_AT_LOGIN_PREFIX}mock failure: io`);
    expect(toggle.checked).toBe(false);
    expect(toggle.getAttribute("aria-disabled")).toBeNull();
    expect(status()).toBe("");
    expect(await backend.getStartAtLogin()).toBe(false);
    expect(screen.queryByTestId("settings-save-error")).toBeNull();

    backend.configure({});
    await fireEvent.click(toggle);
    await waitFor(() => expect(status()).toBe("Porthole will start when you log in."));
    expect(screen.queryByTestId("settings-start-at-login-error")).toBeNull();
    expect(toggle.checked).toBe(true);
  });

  it("turning it off goes back to on when that fails", async () => {
    renderScreen({ startAtLogin: true, setStartAtLoginFailWith: "io" });
    const toggle = await findSwitch();
    await fireEvent.click(toggle);
    await screen.findByTestId("settings-start-at-login-error");
    expect(toggle.checked).toBe(true);
  });

  it("shows a failed read in the Startup group only; the alert settings stay usable", async () => {
    const { backend } = renderScreen({ getStartAtLoginFailWith: "io" });
    const error = await screen.findByTestId("settings-start-at-login-load-error");
    const group = screen.getByRole("group", { name: "Startup" });
    expect(group.contains(error)).toBe(true);
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("mock failure: io");
    expect(screen.queryByLabelText(LABEL)).toBeNull();
    expect(screen.queryByTestId("settings-error")).toBeNull();

    // The alert settings load and save as usual.
    await screen.findByRole("form", { name: "Alert settings" });
    await fireEvent.click(screen.getByLabelText("Show desktop notifications"));
    await fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));
    expect(await backend.getSettings()).toEqual({ ...defaultAlertSettings(), notifications: false });

    // Retry reads it again, and puts focus on the switch.
    backend.configure({});
    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    const toggle = await findSwitch();
    await waitFor(() => expect(document.activeElement).toBe(toggle));
    expect(screen.queryByTestId("settings-start-at-login-load-error")).toBeNull();
  });

  it("still offers the switch when the alert settings fail to load", async () => {
    renderScreen({ getSettingsFailWith: "io" });
    await screen.findByTestId("settings-error");
    expect((await findSwitch()).checked).toBe(false);
  });
});

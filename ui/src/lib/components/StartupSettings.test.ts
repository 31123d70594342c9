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
  return screen.getByTestId("settings-status").textContent?.trim() ?? "";
}

function saveButton(): HTMLButtonElement {
  return screen.getByTestId("settings-save") as HTMLButtonElement;
}

async function saveAndWait() {
  await fireEvent.click(saveButton());
  await waitFor(() => expect(status()).toBe("Saved."));
}

describe("SettingsScreen: start at login", () => {
  it("loads its state with the screen, off by default, in its own Startup group of the form", async () => {
    renderScreen({ delayMs: 20 });
    expect(screen.getByTestId("settings-start-at-login-loading").getAttribute("role")).toBe("status");
    const toggle = await findSwitch();
    expect(toggle.checked).toBe(false);
    expect(toggle.type).toBe("checkbox");
    expect(toggle.dataset.testid).toBe("settings-start-at-login");

    const group = screen.getByRole("group", { name: "Startup" });
    expect(within(group).getByLabelText(LABEL)).toBe(toggle);
    // One form, one Save: it is part of the settings like every other field.
    expect(screen.getByRole("form", { name: "Settings" }).contains(toggle)).toBe(true);
  });

  it("shows it on when it is on", async () => {
    renderScreen({ startAtLogin: true });
    expect((await findSwitch()).checked).toBe(true);
  });

  it("changes nothing until Save, which sets it and leaves the alert settings alone", async () => {
    const { backend } = renderScreen({ delayMs: 20 });
    const toggle = await findSwitch();
    await screen.findByLabelText("Show desktop notifications");
    expect(saveButton().disabled).toBe(true);

    await fireEvent.click(toggle);
    expect(toggle.checked).toBe(true);
    expect(saveButton().disabled).toBe(false);
    expect(backend.startAtLoginCalls).toEqual([]);
    // Back as saved: nothing to save.
    await fireEvent.click(toggle);
    expect(saveButton().disabled).toBe(true);

    await fireEvent.click(toggle);
    await saveAndWait();
    expect(backend.startAtLoginCalls).toEqual([true]);
    expect(await backend.getStartAtLogin()).toBe(true);
    expect(backend.settingsCalls.save).toBe(0);
    expect(saveButton().disabled).toBe(true);
    expect(toggle.checked).toBe(true);
  });

  it("saves it with the alert settings in one Save", async () => {
    const { backend } = renderScreen();
    await fireEvent.click(await findSwitch());
    await fireEvent.click(screen.getByLabelText("Show desktop notifications"));
    await saveAndWait();
    expect(backend.startAtLoginCalls).toEqual([true]);
    expect(await backend.getSettings()).toEqual({ ...defaultAlertSettings(), notifications: false });
  });

  it("is kept across visits to the screen once saved", async () => {
    const backend = new MockBackend();
    const context = new Map([[BACKEND_CONTEXT, backend]]);
    const first = render(SettingsScreen, { context });
    await fireEvent.click(await findSwitch());
    await saveAndWait();
    first.unmount();

    render(SettingsScreen, { context });
    expect((await findSwitch()).checked).toBe(true);
  });

  it("keeps the choice and shows the error when saving it fails, and saves once it can", async () => {
    const { backend } = renderScreen({ setStartAtLoginFailWith: "io" });
    const toggle = await findSwitch();
    await fireEvent.click(toggle);
    await fireEvent.click(saveButton());

    const error = await screen.findByTestId("settings-save-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.dataset.code).toBe("io");
    expect(error.textContent).toContain("Local file error");
    expect(error.textContent).toContain(`${MOCK_START_AT_LOGIN_PREFIX}mock failure: io`);
    expect(toggle.checked).toBe(true);
    expect(saveButton().disabled).toBe(false);
    expect(status()).toBe("");
    expect(await backend.getStartAtLogin()).toBe(false);

    backend.configure({});
    await saveAndWait();
    expect(screen.queryByTestId("settings-save-error")).toBeNull();
    expect(await backend.getStartAtLogin()).toBe(true);
  });

  it("turns it off on Restore defaults, to be saved", async () => {
    const { backend } = renderScreen({ startAtLogin: true });
    const toggle = await findSwitch();
    await fireEvent.click(screen.getByRole("button", { name: "Restore defaults" }));
    expect(toggle.checked).toBe(false);
    expect(await backend.getStartAtLogin()).toBe(true);
    await saveAndWait();
    expect(await backend.getStartAtLogin()).toBe(false);
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
    await fireEvent.click(await screen.findByLabelText("Show desktop notifications"));
    await saveAndWait();
    expect(await backend.getSettings()).toEqual({ ...defaultAlertSettings(), notifications: false });
    expect(backend.startAtLoginCalls).toEqual([]);

    // Retry reads it again, and puts focus on the switch.
    backend.configure({});
    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    const toggle = await findSwitch();
    await waitFor(() => expect(document.activeElement).toBe(toggle));
    expect(screen.queryByTestId("settings-start-at-login-load-error")).toBeNull();
  });

  it("still offers the switch, and saves it, when the alert settings fail to load", async () => {
    const { backend } = renderScreen({ getSettingsFailWith: "io" });
    await screen.findByTestId("settings-error");
    const toggle = await findSwitch();
    expect(toggle.checked).toBe(false);
    await fireEvent.click(toggle);
    await saveAndWait();
    expect(backend.startAtLoginCalls).toEqual([true]);
    expect(backend.settingsCalls.save).toBe(0);
  });
});

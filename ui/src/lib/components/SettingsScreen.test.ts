import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import {
  type AlertSettings,
  BACKEND_CONTEXT,
  defaultAlertSettings,
  MOCK_THRESHOLD_MESSAGE,
  MockBackend,
  type MockOptions,
} from "../backend";
import SettingsScreen from "./SettingsScreen.svelte";

const CUSTOM: AlertSettings = {
  notifications: false,
  warn_before_minutes: [5, 30],
  auto_extend: {
    enabled: true,
    extend_by_minutes: 20,
    when_below_minutes: 3,
    active_within_minutes: 15,
    spend_cap_usd: 4.5,
  },
};

function renderScreen(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const result = render(SettingsScreen, { context: new Map([[BACKEND_CONTEXT, backend]]) });
  return { backend, ...result };
}

function input(label: string): HTMLInputElement {
  return screen.getByLabelText(label) as HTMLInputElement;
}

async function type(label: string, value: string) {
  await fireEvent.input(input(label), { target: { value } });
}

/** The thresholds shown, in order. */
function thresholds(): number[] {
  return screen.queryAllByTestId("settings-threshold").map((chip) => Number(chip.dataset.minutes));
}

async function addThreshold(value: string) {
  await type("Add a warning", value);
  await fireEvent.click(screen.getByRole("button", { name: "Add" }));
}

/** Waits for the alert settings' fields (the form shows from the start, its fields once read). */
async function loaded() {
  await screen.findByLabelText("Show desktop notifications");
}

function saveButton(): HTMLButtonElement {
  return screen.getByTestId("settings-save") as HTMLButtonElement;
}

async function save() {
  await fireEvent.click(saveButton());
}

const AUTO_EXTEND_FIELDS = ["Extend by", "When fewer than", "If used in the last", "Spending cap"];

describe("SettingsScreen: loading", () => {
  it("shows a loading state, then the saved settings", async () => {
    renderScreen({ settings: CUSTOM, delayMs: 20 });
    expect(screen.getByTestId("settings-loading").getAttribute("aria-busy")).toBe("true");
    await loaded();
    expect(screen.queryByTestId("settings-loading")).toBeNull();

    expect(screen.getByRole("heading", { name: "Settings", level: 2 })).toBeTruthy();
    expect(input("Show desktop notifications").checked).toBe(false);
    expect(thresholds()).toEqual([30, 5]);
    expect(screen.getByTestId("settings-thresholds-summary").textContent?.trim()).toBe(
      "Warn 30 and 5 minutes before a session times out.",
    );
    expect(input("Extend sessions automatically").checked).toBe(true);
    expect(AUTO_EXTEND_FIELDS.map((label) => input(label).value)).toEqual(["20", "3", "15", "4.5"]);
    expect(saveButton().disabled).toBe(true);
  });

  it("starts from the defaults, with auto-extend off and its fields disabled", async () => {
    renderScreen();
    await loaded();
    expect(input("Show desktop notifications").checked).toBe(true);
    expect(thresholds()).toEqual([10, 2]);
    expect(screen.getByTestId("settings-thresholds-summary").textContent?.trim()).toBe(
      "Warn 10 and 2 minutes before a session times out.",
    );
    const enabled = input("Extend sessions automatically");
    expect(enabled.checked).toBe(false);
    expect(AUTO_EXTEND_FIELDS.map((label) => input(label).disabled)).toEqual([true, true, true, true]);
    expect(AUTO_EXTEND_FIELDS.map((label) => input(label).value)).toEqual(["15", "5", "10", "10"]);

    await fireEvent.click(enabled);
    expect(AUTO_EXTEND_FIELDS.map((label) => input(label).disabled)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(saveButton().disabled).toBe(false);
    await fireEvent.click(enabled);
    expect(input("Extend by").disabled).toBe(true);
    expect(saveButton().disabled).toBe(true);
  });

  it("shows a failed load with its code, and Retry recovers", async () => {
    const { backend } = renderScreen({ getSettingsFailWith: "io" });
    const error = await screen.findByTestId("settings-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("Local file error");
    expect(error.textContent).toContain("mock failure: io");
    backend.configure({});
    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    await loaded();
    // The focus goes on to the first field, in place of the Retry button.
    expect(document.activeElement).toBe(input("Show desktop notifications"));
  });
});

describe("SettingsScreen: editing and saving", () => {
  it("saves the edits through the backend, with progress, then confirms", async () => {
    const { backend } = renderScreen({ delayMs: 20 });
    await loaded();

    await fireEvent.click(input("Show desktop notifications"));
    await addThreshold("30");
    await addThreshold("5");
    expect(thresholds()).toEqual([30, 10, 5, 2]);
    expect(input("Add a warning").value).toBe("");
    await fireEvent.click(screen.getByRole("button", { name: "Remove 2 minutes" }));
    expect(thresholds()).toEqual([30, 10, 5]);
    expect(screen.getByTestId("settings-thresholds-summary").textContent?.trim()).toBe(
      "Warn 30, 10 and 5 minutes before a session times out.",
    );
    await fireEvent.click(input("Extend sessions automatically"));
    await type("Extend by", "30");
    await type("Spending cap", "2.5");

    await save();
    expect(saveButton().textContent?.trim()).toBe("Saving…");
    expect(saveButton().disabled).toBe(true);
    expect(screen.getByRole("form", { name: "Settings" }).getAttribute("aria-busy")).toBe("true");

    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));
    expect(saveButton().textContent?.trim()).toBe("Save");
    expect(saveButton().disabled).toBe(true);
    expect(await backend.getSettings()).toEqual({
      notifications: false,
      warn_before_minutes: [30, 10, 5],
      auto_extend: {
        enabled: true,
        extend_by_minutes: 30,
        when_below_minutes: 5,
        active_within_minutes: 10,
        spend_cap_usd: 2.5,
      },
    });

    // A new edit makes it unsaved again, and the confirmation goes.
    await type("When fewer than", "8");
    expect(saveButton().disabled).toBe(false);
    expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("");
  });

  it("adds a threshold with Enter, without saving the form", async () => {
    const { backend } = renderScreen();
    await loaded();
    await type("Add a warning", "1");
    await fireEvent.keyDown(input("Add a warning"), { key: "Enter" });
    expect(thresholds()).toEqual([10, 2, 1]);
    expect(screen.getByTestId("settings-thresholds-summary").textContent?.trim()).toBe(
      "Warn 10, 2 and 1 minutes before a session times out.",
    );
    expect(backend.settingsCalls.save).toBe(0);
  });

  it("removes every threshold, and says it will not warn", async () => {
    renderScreen();
    await loaded();
    await fireEvent.click(screen.getByRole("button", { name: "Remove 10 minutes" }));
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Remove 2 minutes" }));
    await fireEvent.click(screen.getByRole("button", { name: "Remove 2 minutes" }));
    expect(thresholds()).toEqual([]);
    expect(document.activeElement).toBe(input("Add a warning"));
    expect(screen.getByTestId("settings-thresholds-summary").textContent?.trim()).toBe(
      "No warning before a session times out.",
    );
  });
});

describe("SettingsScreen: checks", () => {
  it("refuses a threshold out of range or already listed, and says why", async () => {
    renderScreen();
    await loaded();
    const field = input("Add a warning");

    for (const bad of ["0", "1441", "2.5"]) {
      await addThreshold(bad);
      expect(screen.getByTestId("settings-threshold-error").textContent).toBe(
        "A warning threshold is a whole number of minutes from 1 to 1440 (24 hours).",
      );
      expect(field.getAttribute("aria-invalid")).toBe("true");
      expect(field.getAttribute("aria-describedby")).toContain(
        screen.getByTestId("settings-threshold-error").id,
      );
    }
    await addThreshold("10");
    expect(screen.getByTestId("settings-threshold-error").textContent).toBe(
      "10 minutes is in the list already.",
    );
    expect(thresholds()).toEqual([10, 2]);
    await addThreshold("");
    expect(screen.getByTestId("settings-threshold-error").textContent).toContain("Enter a whole number");

    // Typing clears the message.
    await type("Add a warning", "4");
    expect(screen.queryByTestId("settings-threshold-error")).toBeNull();
    expect(field.getAttribute("aria-invalid")).toBeNull();
  });

  it("blocks Save with inline messages until every field is right", async () => {
    const { backend } = renderScreen();
    await loaded();
    await fireEvent.click(input("Extend sessions automatically"));
    await type("Extend by", "0");
    await type("If used in the last", "1.5");
    await type("Spending cap", "");

    await save();
    expect(backend.settingsCalls.save).toBe(0);
    expect(screen.getByTestId("settings-extend-by-error").textContent?.trim()).toBe(
      "Extend by a whole number of minutes, 1 or more.",
    );
    expect(screen.getByTestId("settings-active-within-error").textContent?.trim()).toBe(
      "Enter a whole number of minutes, 0 or more.",
    );
    expect(screen.getByTestId("settings-spend-cap-error").textContent?.trim()).toBe(
      "Enter a spending cap in USD, 0 or more.",
    );
    expect(screen.queryByTestId("settings-when-below-error")).toBeNull();
    const extendBy = input("Extend by");
    expect(extendBy.getAttribute("aria-invalid")).toBe("true");
    expect(extendBy.getAttribute("aria-describedby")).toContain(
      screen.getByTestId("settings-extend-by-error").id,
    );
    expect(document.activeElement).toBe(extendBy);

    // The messages follow the fixes; what was typed stays.
    await type("Extend by", "15");
    expect(screen.queryByTestId("settings-extend-by-error")).toBeNull();
    expect(input("If used in the last").value).toBe("1.5");
    await type("If used in the last", "2");
    await type("Spending cap", "0");
    await save();
    await waitFor(() => expect(backend.settingsCalls.save).toBe(1));
    expect((await backend.getSettings()).auto_extend).toMatchObject({
      active_within_minutes: 2,
      spend_cap_usd: 0,
    });
  });

  it("will not save while the Add field holds a threshold not added", async () => {
    const { backend } = renderScreen();
    await loaded();
    await type("Add a warning", "5");
    expect(saveButton().disabled).toBe(false);
    await save();
    expect(backend.settingsCalls.save).toBe(0);
    expect(screen.getByTestId("settings-threshold-error").textContent).toBe(
      "Press Add to add 5 minutes, or clear the field.",
    );
    expect(document.activeElement).toBe(input("Add a warning"));
  });

  it("flags saved thresholds out of range, and lets them be removed", async () => {
    const { backend } = renderScreen({
      settings: { ...defaultAlertSettings(), warn_before_minutes: [10, 0] },
    });
    await loaded();
    await fireEvent.click(input("Show desktop notifications"));
    await save();
    expect(backend.settingsCalls.save).toBe(0);
    expect(screen.getByTestId("settings-thresholds-error").textContent).toContain("remove 0");
    const remove = screen.getByRole("button", { name: "Remove 0 minutes" });
    expect(document.activeElement).toBe(remove);
    await fireEvent.click(remove);
    expect(screen.queryByTestId("settings-thresholds-error")).toBeNull();
  });
});

describe("SettingsScreen: failures and defaults", () => {
  it("shows the backend's refusal, keeping every edit, and saves once it works", async () => {
    const { backend } = renderScreen({ saveSettingsFailWith: "io" });
    await loaded();
    await addThreshold("45");
    await fireEvent.click(input("Extend sessions automatically"));
    await type("Spending cap", "7.25");

    await save();
    const error = await screen.findByTestId("settings-save-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.dataset.code).toBe("io");
    expect(error.textContent).toContain("mock failure: io");
    expect(thresholds()).toEqual([45, 10, 2]);
    expect(input("Extend sessions automatically").checked).toBe(true);
    expect(input("Spending cap").value).toBe("7.25");
    expect(saveButton().disabled).toBe(false);
    expect(await backend.getSettings()).toEqual(defaultAlertSettings());

    backend.configure({});
    await save();
    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));
    expect(screen.queryByTestId("settings-save-error")).toBeNull();
    expect((await backend.getSettings()).warn_before_minutes).toEqual([45, 10, 2]);
  });

  it("shows the Rust side's own message when it refuses the values", async () => {
    // A backend that refuses what the form lets through, as a newer Rust side might.
    const backend = new MockBackend();
    backend.saveSettings = async () => {
      throw { code: "invalid_input", message: MOCK_THRESHOLD_MESSAGE };
    };
    render(SettingsScreen, { context: new Map([[BACKEND_CONTEXT, backend]]) });
    await loaded();
    await addThreshold("3");
    await save();
    const error = await screen.findByTestId("settings-save-error");
    expect(error.textContent).toContain("Invalid input");
    expect(error.textContent).toContain(MOCK_THRESHOLD_MESSAGE);
    expect(thresholds()).toEqual([10, 3, 2]);
  });

  it("fills in the defaults on Restore defaults, to be saved", async () => {
    const { backend } = renderScreen({ settings: CUSTOM });
    await loaded();
    await type("Add a warning", "7");

    await fireEvent.click(screen.getByRole("button", { name: "Restore defaults" }));
    expect(input("Show desktop notifications").checked).toBe(true);
    expect(thresholds()).toEqual([10, 2]);
    expect(input("Add a warning").value).toBe("");
    expect(input("Extend sessions automatically").checked).toBe(false);
    expect(AUTO_EXTEND_FIELDS.map((label) => input(label).value)).toEqual(["15", "5", "10", "10"]);
    expect(input("Extend by").disabled).toBe(true);
    expect(screen.getByTestId("settings-status").textContent?.trim()).toBe(
      "Defaults filled in. Save to keep them.",
    );
    // Nothing is saved until Save.
    expect(await backend.getSettings()).toEqual(CUSTOM);
    expect(saveButton().disabled).toBe(false);

    await save();
    await waitFor(() => expect(screen.getByTestId("settings-status").textContent?.trim()).toBe("Saved."));
    expect(await backend.getSettings()).toEqual(defaultAlertSettings());
  });
});

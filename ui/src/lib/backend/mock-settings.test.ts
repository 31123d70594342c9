import { afterEach, describe, expect, it, vi } from "vitest";
import {
  MOCK_AUTO_EXTEND_MESSAGE,
  MOCK_START_AT_LOGIN_PREFIX,
  MOCK_THRESHOLD_MESSAGE,
  MockBackend,
  mockOptionsFromQuery,
} from "./mock";
import { type AlertSettings, defaultAlertSettings } from "./types";

function withChanges(change: (settings: AlertSettings) => void): AlertSettings {
  const settings = defaultAlertSettings();
  change(settings);
  return settings;
}

describe("MockBackend settings", () => {
  afterEach(() => vi.useRealTimers());

  it("answers the Rust defaults until something is saved", async () => {
    const mock = new MockBackend();
    expect(await mock.getSettings()).toEqual({
      notifications: true,
      warn_before_minutes: [10, 2],
      auto_extend: {
        enabled: false,
        extend_by_minutes: 15,
        when_below_minutes: 5,
        active_within_minutes: 10,
        spend_cap_usd: 10,
      },
    });
  });

  it("saves a copy, and answers copies", async () => {
    const mock = new MockBackend();
    const mine = withChanges((s) => {
      s.notifications = false;
      s.warn_before_minutes = [30, 5];
      s.auto_extend.enabled = true;
      s.auto_extend.spend_cap_usd = 2.5;
    });
    await mock.saveSettings(mine);
    mine.warn_before_minutes.push(1);
    const answered = await mock.getSettings();
    expect(answered.warn_before_minutes).toEqual([30, 5]);
    expect(answered).toMatchObject({ notifications: false, auto_extend: { enabled: true, spend_cap_usd: 2.5 } });
    answered.notifications = true;
    expect((await mock.getSettings()).notifications).toBe(false);
    expect(mock.settingsCalls).toEqual({ get: 2, save: 1 });
  });

  it("refuses what Rust refuses, with the same messages, and saves nothing then", async () => {
    const mock = new MockBackend();
    const refused = (change: (s: AlertSettings) => void) =>
      mock.saveSettings(withChanges(change)).catch((e: unknown) => e);

    for (const minutes of [0, 1441]) {
      expect(await refused((s) => (s.warn_before_minutes = [10, minutes]))).toMatchObject({
        code: "invalid_input",
        message: MOCK_THRESHOLD_MESSAGE,
      });
    }
    expect(await refused((s) => (s.auto_extend.extend_by_minutes = 0))).toMatchObject({
      code: "invalid_input",
      message: MOCK_AUTO_EXTEND_MESSAGE,
    });
    for (const cap of [-0.01, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(await refused((s) => (s.auto_extend.spend_cap_usd = cap))).toMatchObject({
        code: "invalid_input",
        message: MOCK_AUTO_EXTEND_MESSAGE,
      });
    }
    // What does not deserialize never reaches the checks: Tauri answers a plain string.
    expect(await refused((s) => (s.warn_before_minutes = [2.5]))).toMatchObject({
      code: "internal",
      message: expect.stringContaining("expected u32"),
    });
    expect(await refused((s) => (s.auto_extend.when_below_minutes = -1))).toMatchObject({
      code: "internal",
    });
    expect(await refused((s) => (s.auto_extend.spend_cap_usd = null))).toMatchObject({
      code: "internal",
      message: expect.stringContaining("expected f64"),
    });
    expect(await mock.getSettings()).toEqual(defaultAlertSettings());

    // The edges are fine, and so are no thresholds at all and a cap of 0.
    await mock.saveSettings(withChanges((s) => (s.warn_before_minutes = [1440, 1])));
    await mock.saveSettings(
      withChanges((s) => {
        s.warn_before_minutes = [];
        s.auto_extend.spend_cap_usd = 0;
        s.auto_extend.when_below_minutes = 0;
      }),
    );
    expect((await mock.getSettings()).warn_before_minutes).toEqual([]);
  });

  it("fails on request, and recovers once configured again", async () => {
    const mock = new MockBackend({ getSettingsFailWith: "io", saveSettingsFailWith: "io" });
    await expect(mock.getSettings()).rejects.toMatchObject({ code: "io", message: "mock failure: io" });
    await expect(mock.saveSettings(defaultAlertSettings())).rejects.toMatchObject({ code: "io" });
    // Its own checks come first.
    await expect(
      mock.saveSettings(withChanges((s) => (s.warn_before_minutes = [0]))),
    ).rejects.toMatchObject({ code: "invalid_input" });
    mock.configure({});
    await mock.saveSettings(withChanges((s) => (s.notifications = false)));
    expect((await mock.getSettings()).notifications).toBe(false);
  });

  it("starts from the given settings, and reads failures from the query string", async () => {
    const start = withChanges((s) => (s.warn_before_minutes = [20]));
    expect((await new MockBackend({ settings: start }).getSettings()).warn_before_minutes).toEqual([20]);
    expect(mockOptionsFromQuery("?mock-settings-fail=io&mock-save-settings-fail=internal")).toEqual({
      getSettingsFailWith: "io",
      saveSettingsFailWith: "internal",
    });
    expect(mockOptionsFromQuery("?mock-settings-fail=nope")).toEqual({});
  });

  it("keeps start at login in memory, off by default, and fails on request", async () => {
    const mock = new MockBackend();
    expect(await mock.getStartAtLogin()).toBe(false);
    await mock.setStartAtLogin(true);
    expect(await mock.getStartAtLogin()).toBe(true);
    expect(await new MockBackend({ startAtLogin: true }).getStartAtLogin()).toBe(true);

    mock.configure({ getStartAtLoginFailWith: "io", setStartAtLoginFailWith: "io" });
    await expect(mock.getStartAtLogin()).rejects.toMatchObject({ code: "io" });
    await expect(mock.setStartAtLogin(false)).rejects.toMatchObject({
      code: "io",
      message: `${MOCK_START_AT_LOGIN_PREFIX}mock failure: io`,
    });
    mock.configure({});
    expect(await mock.getStartAtLogin()).toBe(true);
    expect(mock.startAtLoginCalls).toEqual([true, false]);

    expect(
      mockOptionsFromQuery(
        "?mock-start-at-login=1&mock-start-at-login-fail=io&mock-set-start-at-login-fail=internal",
      ),
    ).toEqual({
      startAtLogin: true,
      getStartAtLoginFailWith: "io",
      setStartAtLoginFailWith: "internal",
    });
    expect(mockOptionsFromQuery("?mock-start-at-login=0&mock-set-start-at-login-fail=nope")).toEqual({});
  });
});

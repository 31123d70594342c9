import { describe, expect, it } from "vitest";
import { defaultAlertSettings } from "./backend";
import {
  describeThresholds,
  fromDraft,
  sameDraft,
  sortThresholds,
  thresholdError,
  toDraft,
  validateDraft,
} from "./settingsForm";

describe("settingsForm", () => {
  it("keeps thresholds largest first, each once", () => {
    expect(sortThresholds([2, 10, 5, 10])).toEqual([10, 5, 2]);
    expect(toDraft({ ...defaultAlertSettings(), warn_before_minutes: [2, 10, 2] }).thresholds).toEqual([
      10, 2,
    ]);
  });

  it("turns settings into a draft and back", () => {
    const settings = defaultAlertSettings();
    expect(fromDraft(toDraft(settings))).toEqual(settings);
    const draft = toDraft(settings);
    expect(sameDraft(draft, toDraft({ ...settings, warn_before_minutes: [2, 10] }))).toBe(true);
    draft.autoExtend.spendCap = 12.5;
    expect(sameDraft(draft, toDraft(settings))).toBe(false);
    const zero = toDraft({ ...settings, auto_extend: { ...settings.auto_extend, when_below_minutes: 0 } });
    expect(sameDraft({ ...zero, autoExtend: { ...zero.autoExtend, whenBelow: null } }, zero)).toBe(false);
  });

  it("says why a threshold cannot be added", () => {
    expect(thresholdError(5, [10, 2])).toBeNull();
    expect(thresholdError(1440, [])).toBeNull();
    expect(thresholdError(null, [])).toBe("Enter a whole number of minutes from 1 to 1440 (24 hours).");
    for (const bad of [0, -3, 1441, 2.5]) {
      expect(thresholdError(bad, [])).toBe(
        "A warning threshold is a whole number of minutes from 1 to 1440 (24 hours).",
      );
    }
    expect(thresholdError(10, [10, 2])).toBe("10 minutes is in the list already.");
    expect(thresholdError(1, [1])).toBe("1 minute is in the list already.");
  });

  it("checks each field as the Rust side does", () => {
    expect(validateDraft(toDraft(defaultAlertSettings()))).toEqual({});
    const draft = toDraft(defaultAlertSettings());
    draft.thresholds = [2000, 10, 0];
    draft.autoExtend = { enabled: false, extendBy: 0, whenBelow: null, activeWithin: 1.5, spendCap: -1 };
    expect(validateDraft(draft)).toEqual({
      thresholds:
        "Warning thresholds are a whole number of minutes from 1 to 1440 (24 hours): remove 2000, 0.",
      extendBy: "Extend by a whole number of minutes, 1 or more.",
      whenBelow: "Enter a whole number of minutes, 0 or more.",
      activeWithin: "Enter a whole number of minutes, 0 or more.",
      spendCap: "Enter a spending cap in USD, 0 or more.",
    });
    draft.thresholds = [];
    draft.autoExtend = { enabled: true, extendBy: 1, whenBelow: 0, activeWithin: 0, spendCap: 0 };
    expect(validateDraft(draft)).toEqual({});
    draft.autoExtend.spendCap = null;
    expect(validateDraft(draft)).toHaveProperty("spendCap");
  });

  it("words the thresholds as a sentence", () => {
    expect(describeThresholds([2, 10])).toBe("Warn 10 and 2 minutes before a session times out.");
    expect(describeThresholds([30, 10, 2])).toBe(
      "Warn 30, 10 and 2 minutes before a session times out.",
    );
    expect(describeThresholds([5])).toBe("Warn 5 minutes before a session times out.");
    expect(describeThresholds([1])).toBe("Warn 1 minute before a session times out.");
    expect(describeThresholds([])).toBe("No warning before a session times out.");
  });
});

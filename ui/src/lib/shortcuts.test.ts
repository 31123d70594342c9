import { describe, expect, it } from "vitest";
import { shortcutOf } from "./shortcuts";

function press(key: string, target: Element = document.body, init: KeyboardEventInit = { ctrlKey: true }) {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, ...init });
  Object.defineProperty(event, "target", { value: target });
  return shortcutOf(event);
}

describe("keyboard shortcuts", () => {
  it("knows Ctrl+N, Ctrl+R, Ctrl+F, Ctrl+, and Ctrl+Q (and ⌘ on macOS), and nothing else", () => {
    expect(press("n")).toEqual({ shortcut: "launch", act: true });
    expect(press("r")).toEqual({ shortcut: "refresh", act: true });
    expect(press("F")).toEqual({ shortcut: "filter", act: true });
    expect(press(",")).toEqual({ shortcut: "settings", act: true });
    expect(press("q")).toEqual({ shortcut: "quit", act: true });
    expect(press("n", document.body, { metaKey: true })?.shortcut).toBe("launch");
    expect(press("n", document.body, {})).toBeNull();
    expect(press("n", document.body, { ctrlKey: true, shiftKey: true })).toBeNull();
    expect(press("x")).toBeNull();
  });

  it("acts while typing in a field only for the filter, Settings and Quit, and not at all in a modal dialog", () => {
    for (const tag of ["input", "textarea", "select"]) {
      const field = document.createElement(tag);
      expect(press("n", field)).toEqual({ shortcut: "launch", act: false });
      expect(press("r", field)).toEqual({ shortcut: "refresh", act: false });
      expect(press("f", field)).toEqual({ shortcut: "filter", act: true });
      expect(press(",", field)).toEqual({ shortcut: "settings", act: true });
      expect(press("q", field)).toEqual({ shortcut: "quit", act: true });
    }
    // A checkbox, a radio button or a slider takes no text: every shortcut acts there.
    for (const type of ["checkbox", "radio", "range"]) {
      const input = document.createElement("input");
      input.type = type;
      expect(press("n", input)).toEqual({ shortcut: "launch", act: true });
      expect(press("r", input)).toEqual({ shortcut: "refresh", act: true });
    }
    for (const type of ["text", "search", "number", "password"]) {
      const input = document.createElement("input");
      input.type = type;
      expect(press("n", input)).toEqual({ shortcut: "launch", act: false });
    }
    const dialog = document.createElement("div");
    dialog.setAttribute("aria-modal", "true");
    const button = dialog.appendChild(document.createElement("button"));
    expect(press(",", button)).toEqual({ shortcut: "settings", act: false });
    expect(press("q", button)).toEqual({ shortcut: "quit", act: false });
  });
});

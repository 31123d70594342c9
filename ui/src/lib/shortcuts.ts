// The main window's keyboard shortcuts: Ctrl (⌘ on macOS) with N, R, F, a comma or Q.

export type Shortcut = "launch" | "refresh" | "filter" | "settings" | "quit";

/** Each shortcut's keys, as `aria-keyshortcuts` writes them and as the app shows them. */
export const SHORTCUT_KEYS: Record<Shortcut, { aria: string; label: string }> = {
  launch: { aria: "Control+N", label: "Ctrl+N" },
  refresh: { aria: "Control+R", label: "Ctrl+R" },
  filter: { aria: "Control+F", label: "Ctrl+F" },
  settings: { aria: "Control+,", label: "Ctrl+," },
  quit: { aria: "Control+Q", label: "Ctrl+Q" },
};

const BY_KEY: Record<string, Shortcut> = { n: "launch", r: "refresh", f: "filter", ",": "settings", q: "quit" };

/** Those that also act while the user types in a field (they do not change what is typed). */
const WHILE_TYPING: Shortcut[] = ["filter", "settings", "quit"];

/** Inputs that take no text: Ctrl+N or Ctrl+R there would change nothing being typed. */
const UNTYPED_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color", "file", "image"]);

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !UNTYPED_INPUTS.has(target.type);
  return ["TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
}

/** The shortcut `event` presses, if any, and whether it acts where it was pressed (`act` false:
 * typing in a field, or in a modal dialog). Either way the caller prevents the default (the
 * webview's reload, say). */
export function shortcutOf(event: KeyboardEvent): { shortcut: Shortcut; act: boolean } | null {
  if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return null;
  const shortcut = BY_KEY[event.key.toLowerCase()];
  if (shortcut === undefined) return null;
  const modal = event.target instanceof Element && event.target.closest("[aria-modal=true]") !== null;
  return { shortcut, act: !modal && (WHILE_TYPING.includes(shortcut) || !typingIn(event.target)) };
}

// Modal dialogs keep keyboard focus inside them: Tab from the last control goes to the first,
// Shift+Tab from the first (or from the dialog itself) to the last.

/** The controls in `container` that Tab can reach now (not disabled, not in a hidden part). */
export function focusables(container: HTMLElement | undefined): HTMLElement[] {
  const selector = "button, select, input, textarea, [href], [tabindex]:not([tabindex='-1'])";
  return [...(container?.querySelectorAll<HTMLElement>(selector) ?? [])].filter(
    (el) => !el.matches(":disabled") && !el.closest("[hidden]"),
  );
}

/** On Tab, keeps the focus inside `container` (a `keydown` handler's part). */
export function trapTab(event: KeyboardEvent, container: HTMLElement | undefined): void {
  if (event.key !== "Tab") return;
  const list = focusables(container);
  const first = list[0];
  const last = list[list.length - 1];
  if (!first || !last) return;
  const active = document.activeElement;
  if (event.shiftKey && (active === first || active === container)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && active === last) {
    event.preventDefault();
    first.focus();
  }
}

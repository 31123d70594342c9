/**
 * Whether an element is on screen (or near it), for rows whose countdown need not tick while
 * scrolled away: one shared IntersectionObserver for every row. Where there is no
 * IntersectionObserver (unit tests in jsdom), everything counts as on screen.
 */

type Listener = (onScreen: boolean) => void;

const listeners = new WeakMap<Element, Listener>();
let observer: IntersectionObserver | null | undefined;

function shared(): IntersectionObserver | null {
  if (observer === undefined) {
    observer =
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver(
            (entries) => {
              for (const entry of entries) listeners.get(entry.target)?.(entry.isIntersecting);
            },
            // A margin of a few rows, so a row is current before it scrolls into view.
            { rootMargin: "200px 0px" },
          )
        : null;
  }
  return observer;
}

/** Tells `listener` whenever `element` comes on screen or leaves it; returns the release. */
export function watchOnScreen(element: Element, listener: Listener): () => void {
  const io = shared();
  if (!io) return () => {};
  listeners.set(element, listener);
  io.observe(element);
  return () => {
    io.unobserve(element);
    listeners.delete(element);
  };
}

/** Scrolls `element` into view (as little as needed) and focuses it: the row the arrow keys or
 * a reveal land on is then both seen and selected. */
export function focusInView(element: HTMLElement): void {
  // Optional: jsdom has no scrollIntoView.
  element.scrollIntoView?.({ block: "nearest" });
  element.focus({ preventScroll: true });
}

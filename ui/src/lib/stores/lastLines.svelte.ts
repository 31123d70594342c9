// The last lines of each session's log that this window saw (its log view, a launch's
// progress), so that a session that ends without its provider saying why still shows what it
// said last. Kept for this run of the window only, a few lines per session.
import { SvelteMap } from "svelte/reactivity";
import type { LogLine } from "../backend";
import { sessionKey } from "../sessionView";

/** How many lines are kept per session. */
export const KEEP_LINES = 3;

export class LastLines {
  #lines = new SvelteMap<string, string[]>();

  /** Notes a line of `accountId/sessionId`'s log; blank lines say nothing and are skipped. */
  note(accountId: string, sessionId: string, line: LogLine): void {
    const text = line.message.trimEnd();
    if (text.trim() === "") return;
    const key = sessionKey(accountId, sessionId);
    this.#lines.set(key, [...(this.#lines.get(key) ?? []), text].slice(-KEEP_LINES));
  }

  /** The last lines seen of that session, oldest first (empty: none). */
  of(accountId: string, sessionId: string): string[] {
    return this.#lines.get(sessionKey(accountId, sessionId)) ?? [];
  }
}

/** The window's one record, shared by the log views, launches and rows. */
export const lastLines = new LastLines();

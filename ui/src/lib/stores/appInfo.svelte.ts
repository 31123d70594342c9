import type { AppInfo } from "../backend";
import { type Loadable, LoadableStore } from "./loadable.svelte";

/** Whether the About panel has something the person must see: the app's info could not be read,
 * the keychain cannot be used, or the Local server failed to start. */
export function needsAttention(state: Loadable<AppInfo>): boolean {
  if (state.status === "error") return true;
  if (state.status !== "ready") return false;
  return (
    !state.value.keychain.usable ||
    state.value.local_server.state === "failed" ||
    Boolean(state.value.settings_problem)
  );
}

/** The app's own description (version, folders, keychain), loaded from the backend. */
export class AppInfoStore extends LoadableStore<AppInfo> {
  /** Loads (or reloads) the info; only the latest call's answer is kept. */
  load(): Promise<Loadable<AppInfo>> {
    return this.loadLatest(() => this.backend.appInfo());
  }
}

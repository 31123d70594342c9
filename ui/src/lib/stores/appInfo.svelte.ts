import type { AppInfo } from "../backend";
import { type Loadable, LoadableStore } from "./loadable.svelte";

/** The app's own description (version, folders, keychain), loaded from the backend. */
export class AppInfoStore extends LoadableStore<AppInfo> {
  /** Loads (or reloads) the info; only the latest call's answer is kept. */
  load(): Promise<Loadable<AppInfo>> {
    return this.loadLatest(() => this.backend.appInfo());
  }
}

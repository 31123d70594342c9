import type { AlertSettings } from "../backend";
import { type Loadable, LoadableStore } from "./loadable.svelte";

/** The saved alert settings, loaded from the backend, and saving new ones. */
export class SettingsStore extends LoadableStore<AlertSettings> {
  /** Loads (or reloads) the saved settings; only the latest call's answer is kept. */
  load(): Promise<Loadable<AlertSettings>> {
    return this.loadLatest(() => this.backend.getSettings());
  }

  /** Saves `settings`; throws the backend's reason as a `BackendError`, the saved ones kept. */
  save(settings: AlertSettings): Promise<void> {
    // A plain copy: the form's values may be reactive proxies, which cannot be cloned or sent.
    return this.saveWith($state.snapshot(settings), (copy) => this.backend.saveSettings(copy));
  }
}

/**
 * Whether Porthole starts when the user logs in. Apart from the alert settings: it is read on its
 * own (a failure here leaves them usable) and saved with its own call, by the same Save.
 */
export class StartAtLoginStore extends LoadableStore<boolean> {
  /** Reads (or reads again) whether it is on; only the latest call's answer is kept. */
  load(): Promise<Loadable<boolean>> {
    return this.loadLatest(() => this.backend.getStartAtLogin());
  }

  /** Turns it on or off; throws the backend's reason as a `BackendError`, the saved value kept. */
  save(enabled: boolean): Promise<void> {
    return this.saveWith(enabled, (value) => this.backend.setStartAtLogin(value));
  }
}

import { type AlertSettings, type BackendError, toBackendError } from "../backend";
import { type Loadable, LoadableStore } from "./loadable.svelte";

/** The saved alert settings, loaded from the backend, and saving new ones. */
export class SettingsStore extends LoadableStore<AlertSettings> {
  /** Loads (or reloads) the saved settings; only the latest call's answer is kept. */
  load(): Promise<Loadable<AlertSettings>> {
    return this.loadLatest(() => this.backend.getSettings());
  }

  /** Saves `settings`; throws the backend's reason as a `BackendError`, the saved ones kept. */
  async save(settings: AlertSettings): Promise<void> {
    // A plain copy: the form's values may be reactive proxies, which cannot be cloned or sent.
    const copy = $state.snapshot(settings);
    try {
      await this.backend.saveSettings(copy);
    } catch (error) {
      throw toBackendError(error);
    }
    this.state = { status: "ready", value: copy };
  }
}

/**
 * Whether Porthole starts when the user logs in. Apart from the alert settings: it is read on its
 * own (a failure here leaves them usable) and a change applies at once, with no Save.
 */
export class StartAtLoginStore extends LoadableStore<boolean> {
  /** A change is in flight; another one is refused until it answers. */
  changing = $state(false);
  /** Why the last change failed (the value went back to what it was), or null. */
  changeError: BackendError | null = $state(null);
  /** What the last change that went through set, or null (none yet, or one in flight). */
  changed: boolean | null = $state(null);

  /** Reads (or reads again) whether it is on; only the latest call's answer is kept. */
  load(): Promise<Loadable<boolean>> {
    this.changeError = null;
    this.changed = null;
    return this.loadLatest(() => this.backend.getStartAtLogin());
  }

  /** Turns it on or off at once: shown as asked while in flight, back as it was if that fails. */
  async set(enabled: boolean): Promise<void> {
    if (this.state.status !== "ready" || this.changing) return;
    const generation = this.generation;
    const previous = this.state.value;
    this.state = { status: "ready", value: enabled };
    this.changing = true;
    this.changeError = null;
    this.changed = null;
    try {
      await this.backend.setStartAtLogin(enabled);
      if (generation === this.generation) this.changed = enabled;
    } catch (error) {
      if (generation === this.generation) {
        this.state = { status: "ready", value: previous };
        this.changeError = toBackendError(error);
      }
    } finally {
      this.changing = false;
    }
  }
}

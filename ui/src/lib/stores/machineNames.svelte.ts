import type { Backend } from "../backend";

/** How long after a failed or fruitless lookup an account's machines may be asked for again. */
export const ASK_AGAIN_MS = 60_000;

/**
 * The names of the machines sessions run on. A session carries only its machine's id (a UUID for
 * ComfyDeploy and portholed), so each account's machines are asked for once, when a row first
 * needs one of its names, and again (at most every minute) when a session names a machine that
 * was not in the list or the call failed. Until a name is known the row shows the id.
 */
export class MachineNames {
  /** By account: machine id → name. */
  #names = new Map<string, Map<string, string>>();
  /** By account: when its machines were last asked for (or are being asked for now). */
  #asked = new Map<string, number>();
  #revision = $state(0);
  #backend: Backend;
  #now: () => number;

  constructor(backend: Backend, now: () => number = Date.now) {
    this.#backend = backend;
    this.#now = now;
  }

  /** The machine's name, when known; starts a lookup of the account's machines when not. */
  name(accountId: string, machineId: string | null): string | undefined {
    void this.#revision;
    if (machineId === null) return undefined;
    const name = this.#names.get(accountId)?.get(machineId);
    if (name === undefined) this.#ask(accountId);
    return name;
  }

  #ask(accountId: string): void {
    const last = this.#asked.get(accountId);
    if (last !== undefined && this.#now() - last < ASK_AGAIN_MS) return;
    this.#asked.set(accountId, this.#now());
    // Never changes state synchronously: this runs while a row renders.
    void this.#backend.listMachines(accountId).then(
      (machines) => {
        this.#names.set(accountId, new Map(machines.map((m) => [m.id, m.name])));
        this.#asked.set(accountId, this.#now());
        this.#revision++;
      },
      () => {
        // The row keeps the id; the account's offline state is shown by the watchers' events.
        this.#asked.set(accountId, this.#now());
      },
    );
  }
}

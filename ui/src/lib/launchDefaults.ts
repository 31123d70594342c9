// The launch dialog's defaults: the account launched on last, what was launched last on each
// account (machine, resource, timeout, mode; never anything secret), kept in localStorage, and how they
// meet what is offered now.
import {
  type AccountView,
  type LaunchRequest,
  type Lifetime,
  LOCAL_ACCOUNT_ID,
  type Machine,
  type ProviderDescriptor,
  type Resource,
} from "./backend";

/** What the launch form holds. */
export interface LaunchChoice {
  machineId: string;
  /** `null`: the machine's default (or the provider offers no choice). Typed (a runbook), it is
   * the text as typed. */
  resourceId: string | null;
  /** `null`: the provider has no lifetimes to choose from (a runbook runs to its end). */
  timeoutMinutes: number | null;
}

const PREFIX = "porthole.launch.";
/** Not under `PREFIX`, where an account could have the same name. */
const LAST_ACCOUNT = "porthole.launched.account";

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** The last launch on `accountId`, if one was remembered and still reads as one. */
export function loadLaunchDefaults(accountId: string, store = storage()): LaunchRequest | null {
  try {
    const raw = store?.getItem(PREFIX + accountId);
    if (!raw) return null;
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { machine_id, resource, timeout_minutes, mode } = value as Record<string, unknown>;
    if (typeof machine_id !== "string") return null;
    return {
      machine_id,
      resource: typeof resource === "string" ? resource : null,
      timeout_minutes: typeof timeout_minutes === "number" ? timeout_minutes : null,
      ...(typeof mode === "string" ? { mode } : {}),
    };
  } catch {
    return null;
  }
}

/** Remembers a launch's settings for the next one on the same account, and the account for the
 * next launch. */
export function saveLaunchDefaults(
  accountId: string,
  request: LaunchRequest,
  store = storage(),
): void {
  // The mode too (a QPU session's), never the parameters (they may be anything the user typed).
  const { machine_id, resource, timeout_minutes, mode } = request;
  try {
    store?.setItem(PREFIX + accountId, JSON.stringify({ machine_id, resource, timeout_minutes, mode: mode ?? null }));
    store?.setItem(LAST_ACCOUNT, accountId);
  } catch {
    // A full or disabled storage only loses the defaults.
  }
}

/** The account the launch dialog opens on. The one the list is filtered to comes first: the
 * user is looking at it, and it is the one they chose last. Else the account launched on last,
 * while it still exists; else the default account; else Local. */
export function launchAccount(filtered: string | null, accounts: AccountView[], store = storage()): string {
  if (filtered !== null) return filtered;
  let last: string | null = null;
  try {
    last = store?.getItem(LAST_ACCOUNT) ?? null;
  } catch {
    // Unreadable storage: no account remembered.
  }
  if (last !== null && accounts.some((v) => v.account.id === last)) return last;
  return accounts.find((v) => v.is_default)?.account.id ?? LOCAL_ACCOUNT_ID;
}

const usable = (r: Resource) => r.availability.status !== "unavailable";

/** The resource to preselect for `machine`: `wanted` if usable, else its default, else the
 * first usable one; `null` when there is nothing to choose. */
export function resourceFor(
  machine: Machine | undefined,
  resources: Resource[],
  wanted: string | null,
): string | null {
  const ok = (id: string | null | undefined) =>
    id != null && resources.some((r) => r.id === id && usable(r)) ? id : undefined;
  return ok(wanted) ?? ok(machine?.default_resource) ?? resources.find(usable)?.id ?? null;
}

/** The lifetimes `resource` allows: the provider's `choices` up to its limit (a cluster
 * partition's time limit), with the limit itself where it falls between two choices. */
export function timeoutsFor(choices: number[], resource: Resource | undefined): number[] {
  const max = resource?.max_minutes ?? null;
  if (max === null || max <= 0) return choices;
  const within = choices.filter((m) => m <= max);
  return within.includes(max) ? within : [...within, max];
}

/** `wanted` if `timeouts` has it, else the longest of them up to `wanted`, else the first. */
export function timeoutNear(timeouts: number[], wanted: number): number | null {
  if (timeouts.includes(wanted)) return wanted;
  return [...timeouts].reverse().find((m) => m <= wanted) ?? timeouts[0] ?? null;
}

/** Whether the resource is typed rather than picked from a list, as the descriptor says
 * (`resource_named`: a runbook is named by its slug, its id or its URL; the API lists only those
 * run before, so the list is only suggestions, and is empty before the first run). */
export function typedResource(descriptor: ProviderDescriptor | null): boolean {
  return !!descriptor?.launch.resource_named;
}

/** The form's starting values: the remembered launch where it is still possible, else the
 * first machine that can launch, its default resource and the provider's default lifetime
 * (`lifetime`: the provider's, from its descriptor; `null` while no account is chosen; without
 * choices, no lifetime). `typed`: the resource is typed (`typedResource`), so the remembered one
 * stands as it is, and nothing is guessed without one. */
export function pickChoice(
  machines: Machine[],
  resources: Resource[],
  remembered: LaunchRequest | null,
  lifetime: Lifetime | null,
  typed = false,
): LaunchChoice {
  const launchable = machines.filter((m) => m.can_launch);
  const machine = launchable.find((m) => m.id === remembered?.machine_id) ?? launchable[0];
  const wantedResource = remembered?.resource ?? null;
  const resourceId = typed ? wantedResource : resourceFor(machine, resources, wantedResource);
  const machineId = machine?.id ?? "";
  const timeouts = timeoutsFor(lifetime?.choices ?? [], resources.find((r) => r.id === resourceId));
  if (!lifetime || timeouts.length === 0) return { machineId, resourceId, timeoutMinutes: null };
  const fallback = timeoutNear(timeouts, lifetime.default_minutes);
  const wanted = remembered?.timeout_minutes;
  const timeoutMinutes = wanted != null && timeouts.includes(wanted) ? wanted : fallback;
  return { machineId, resourceId, timeoutMinutes };
}

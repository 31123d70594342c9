// What the mock's providers offer: machines, resources, start-up logs, and the sessions of
// `?mock-sessions=demo` and the ended ones of `?mock-ended=demo`. Plain data, so tests and the Playwright suite can name what they expect.
import {
  type Account,
  type Capabilities,
  type EndedSession,
  LOCAL_ACCOUNT_ID,
  type Machine,
  type Resource,
  type Session,
  type SessionState,
} from "./types";

/** The Local account's machines: a terminal, and a Jupyter template whose program is missing. */
export const MOCK_LOCAL_MACHINES: Machine[] = [
  {
    id: "terminal",
    name: "terminal",
    can_launch: true,
    unavailable_reason: null,
    default_resource: "CPU",
  },
  {
    id: "jupyter",
    name: "jupyter",
    can_launch: false,
    unavailable_reason: "jupyter is not installed",
    default_resource: "CPU",
  },
];

/** The Local account's resources: this computer's CPU, and a GPU it does not have. */
export const MOCK_LOCAL_RESOURCES: Resource[] = [
  {
    id: "CPU",
    kind: "cpu",
    label: "CPU (this computer)",
    memory_mib: 16384,
    price_per_hour: 0,
    availability: { status: "available" },
    max_minutes: null,
  },
  {
    id: "H100",
    kind: "gpu",
    label: "NVIDIA H100",
    memory_mib: 81920,
    price_per_hour: null,
    availability: { status: "unavailable", reason: "this machine has no such GPU" },
    max_minutes: null,
  },
];

/** A ComfyDeploy account's machines. */
export const MOCK_CLOUD_MACHINES: Machine[] = [
  {
    id: "flux-dev-machine",
    name: "flux-dev",
    can_launch: true,
    unavailable_reason: null,
    default_resource: "A10G",
  },
  { id: "sdxl", name: "sdxl", can_launch: true, unavailable_reason: null, default_resource: "T4" },
  {
    id: "broken",
    name: "old-workflow",
    can_launch: false,
    unavailable_reason: "Its last build failed",
    default_resource: null,
  },
];

/** A ComfyDeploy account's GPUs, priced per hour. */
export const MOCK_CLOUD_RESOURCES: Resource[] = [
  gpu("T4", "NVIDIA T4", 16, 0.59, { status: "available" }),
  gpu("A10G", "NVIDIA A10G", 24, 1.1, { status: "available" }),
  gpu("A100", "NVIDIA A100 80GB", 80, 3.5, { status: "busy", queue_length: 2 }),
  gpu("H100", "NVIDIA H100", 80, 4.9, {
    status: "unavailable",
    reason: "No capacity in this region right now",
  }),
];

function gpu(
  id: string,
  label: string,
  gib: number,
  price: number,
  availability: Resource["availability"],
): Resource {
  return { id, kind: "gpu", label, memory_mib: gib * 1024, price_per_hour: price, availability, max_minutes: null };
}

/** An Airplane account's runbooks: only those run before (its API lists no others), named as
 * the Rust side names them. */
export const MOCK_RUNBOOKS: Resource[] = [
  runbook("rbk20240611deploy", "deploy-api"),
  runbook("rbk20240702rotate", "rotate-keys"),
];

function runbook(id: string, lastSession: string): Resource {
  return {
    id,
    kind: "runbook",
    label: `${id} (last: ${lastSession})`,
    memory_mib: null,
    price_per_hour: null,
    availability: { status: "available" },
    max_minutes: null,
  };
}

/** What an account offers: Local's template list, an Airplane account's runbooks (no
 * templates), or a cloud provider's. */
export function offerFor(account: Account): { machines: Machine[]; resources: Resource[] } {
  if (account.provider === "portholed") return { machines: MOCK_LOCAL_MACHINES, resources: MOCK_LOCAL_RESOURCES };
  if (account.provider === "airplane") return { machines: [], resources: MOCK_RUNBOOKS };
  return { machines: MOCK_CLOUD_MACHINES, resources: MOCK_CLOUD_RESOURCES };
}

/** The start-up log of a launch; the session is `connecting` after line 3 and `ready` after 5. */
export function startupLog(account: Account, machine: Machine, resource: string | null): string[] {
  const on = resource ?? "the default resource";
  if (account.provider === "portholed") {
    return [
      `Launching ${machine.name} on ${on}`,
      "Starting /bin/sh in a pseudo-terminal",
      "Serving the terminal page on a loopback port",
      "Waiting for the page to answer",
      "The page answers: ready",
    ];
  }
  return [
    `Queued ${machine.name} on ${on}`,
    `Allocating a ${on} worker`,
    "Pulling the machine image and starting ComfyUI",
    "Waiting for the tunnel to answer",
    "ComfyUI is up: ready",
  ];
}

/** The line after which a launch is `connecting`, and the last one (then `ready`). */
export const CONNECTING_AFTER_LINE = 3;

const ALL: Capabilities = { can_extend: true, can_stop: true, has_ui: true, can_cancel: false };

interface DemoSeed {
  id: string;
  account_id: string;
  name: string;
  machine_id: string;
  resource: string;
  state: SessionState;
  /** Minutes ago it was created. */
  age: number;
  /** Minutes left before its deadline; `null`: none. */
  left: number | null;
  price: number;
  capabilities?: Capabilities;
  status_label?: string;
}

const DEMO: DemoSeed[] = [
  { id: "demo-shell", account_id: LOCAL_ACCOUNT_ID, name: "shell", machine_id: "terminal",
    resource: "CPU", state: { state: "ready" }, age: 20, left: 42, price: 0 },
  { id: "demo-notebook", account_id: LOCAL_ACCOUNT_ID, name: "notebook-warmup",
    machine_id: "terminal", resource: "CPU", state: { state: "connecting" }, age: 1, left: 14,
    price: 0, status_label: "Waiting for the page to answer" },
  { id: "demo-flux", account_id: "studio-gpus", name: "flux-dev", machine_id: "flux-dev-machine",
    resource: "A100", state: { state: "ready" }, age: 65, left: 8, price: 3.5 },
  { id: "demo-sdxl", account_id: "studio-gpus", name: "sdxl-batch", machine_id: "sdxl",
    resource: "A10G", state: { state: "starting" }, age: 0.5, left: 30, price: 1.1 },
  { id: "demo-legacy", account_id: "studio-gpus", name: "legacy-runner",
    machine_id: "flux-dev-machine", resource: "T4", state: { state: "ready" }, age: 125,
    left: null, price: 0.59, capabilities: { can_extend: false, can_stop: true, has_ui: true, can_cancel: false } },
];

/** The sessions of `?mock-sessions=demo`, across Local and "Studio GPUs", relative to `now`. */
export function demoSessions(now: number): Session[] {
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const machines = [...MOCK_LOCAL_MACHINES, ...MOCK_CLOUD_MACHINES];
  return DEMO.map((d) => ({
    id: d.id,
    account_id: d.account_id,
    provider: d.account_id === LOCAL_ACCOUNT_ID ? "portholed" : "comfy_deploy",
    name: d.name,
    machine_id: d.machine_id,
    // As the app's watchers name them.
    machine_name: machines.find((m) => m.id === d.machine_id)?.name ?? null,
    resource: d.resource,
    state: d.state,
    status_label: d.status_label ?? null,
    before_end: null,
    created_at: at(-d.age),
    deadline: d.left === null ? null : at(d.left),
    idle_deadline: null,
    unused_deadline: null,
    warning: null,
    price_per_hour: d.price,
    capabilities: d.capabilities ?? ALL,
    details: [],
  }));
}

/** The ended sessions of `?mock-ended=demo`, kept from an earlier run: a shell stopped on Local
 * an hour ago, and a flux-dev render on "Studio GPUs" that ran out its time 3 hours ago. */
export function demoEndedSessions(now: number): EndedSession[] {
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const like = (id: string) => demoSessions(now).find((s) => s.id === id)!;
  return [
    { session: { ...like("demo-flux"), id: "old-render", name: "old-render", state: { state: "ended", reason: { kind: "timeout" } },
      created_at: at(-240), deadline: at(-180) }, ended_at: at(-180) },
    { session: { ...like("demo-shell"), id: "old-shell", name: "old-shell", state: { state: "ended", reason: { kind: "stopped" } },
      created_at: at(-90), deadline: at(-30) }, ended_at: at(-60) },
  ];
}

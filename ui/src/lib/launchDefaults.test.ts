import { beforeEach, describe, expect, it } from "vitest";
import {
  type AccountView,
  MOCK_CLOUD_MACHINES,
  MOCK_CLOUD_RESOURCES,
  MOCK_LOCAL_MACHINES,
  MOCK_LOCAL_RESOURCES,
  MOCK_DEMO_ACCOUNTS,
  MOCK_LOCAL_ACCOUNT,
  MOCK_RUNBOOKS,
} from "./backend";
import { PROVIDERS } from "./backend/providers";
import {
  launchAccount,
  loadLaunchDefaults,
  pickChoice,
  resourceFor,
  saveLaunchDefaults,
  timeoutNear,
  timeoutsFor,
  typedResource,
} from "./launchDefaults";

// The choices and the default come from the provider's descriptor (defined in Rust).
const TIMEOUTS = PROVIDERS.comfy_deploy.lifetime;

describe("launch defaults", () => {
  beforeEach(() => localStorage.clear());

  it("remembers the last launch per account, and only its settings", () => {
    expect(loadLaunchDefaults("local")).toBeNull();
    saveLaunchDefaults("local", { machine_id: "terminal", resource: "CPU", timeout_minutes: 60 });
    expect(loadLaunchDefaults("local")).toEqual({ machine_id: "terminal", resource: "CPU", timeout_minutes: 60 });
    expect(loadLaunchDefaults("studio")).toBeNull();
    expect(JSON.parse(localStorage.getItem("porthole.launch.local")!)).toEqual({
      machine_id: "terminal",
      resource: "CPU",
      timeout_minutes: 60,
      mode: null,
    });
    // A QPU session's mode is remembered too; its parameters never are.
    saveLaunchDefaults("ibm", { machine_id: "", resource: "ibm_kyiv", timeout_minutes: 60, mode: "batch",
      params: { token: "typed" } });
    expect(loadLaunchDefaults("ibm")).toEqual({ machine_id: "", resource: "ibm_kyiv", timeout_minutes: 60, mode: "batch" });
    expect(localStorage.getItem("porthole.launch.ibm")).not.toContain("typed");
  });

  it("opens on the account filtered to, else the one launched on last while it exists, else the default", () => {
    const accounts: AccountView[] = [MOCK_LOCAL_ACCOUNT, ...MOCK_DEMO_ACCOUNTS.map((seed) => seed.account)].map(
      (account) => ({ account, key: { state: "set" }, is_default: false }),
    );
    expect(launchAccount(null, accounts)).toBe("local");
    const withDefault = accounts.map((v) => ({ ...v, is_default: v.account.id === "gpu-box" }));
    expect(launchAccount(null, withDefault)).toBe("gpu-box");

    saveLaunchDefaults("studio-gpus", { machine_id: "sdxl", resource: "T4", timeout_minutes: 30 });
    expect(localStorage.getItem("porthole.launched.account")).toBe("studio-gpus");
    expect(launchAccount(null, withDefault)).toBe("studio-gpus");
    // The list filtered to an account: that one.
    expect(launchAccount("local", withDefault)).toBe("local");
    // Removed since: the default again.
    const removed = withDefault.filter((v) => v.account.id !== "studio-gpus");
    expect(launchAccount(null, removed)).toBe("gpu-box");
  });

  it("ignores what does not read as a launch", () => {
    localStorage.setItem("porthole.launch.local", "{not json");
    expect(loadLaunchDefaults("local")).toBeNull();
    localStorage.setItem("porthole.launch.local", JSON.stringify({ machine_id: 3 }));
    expect(loadLaunchDefaults("local")).toBeNull();
  });

  it("starts from the first machine that can launch, its default resource, 15 minutes", () => {
    expect(pickChoice(MOCK_LOCAL_MACHINES, MOCK_LOCAL_RESOURCES, null, TIMEOUTS)).toEqual({
      machineId: "terminal",
      resourceId: "CPU",
      timeoutMinutes: TIMEOUTS.default_minutes,
    });
  });

  it("uses the remembered launch where it is still possible", () => {
    const remembered = { machine_id: "sdxl", resource: "A100", timeout_minutes: 120 };
    expect(pickChoice(MOCK_CLOUD_MACHINES, MOCK_CLOUD_RESOURCES, remembered, TIMEOUTS)).toEqual({
      machineId: "sdxl",
      resourceId: "A100",
      timeoutMinutes: 120,
    });
    const stale = { machine_id: "broken", resource: "H100", timeout_minutes: 7 };
    expect(pickChoice(MOCK_CLOUD_MACHINES, MOCK_CLOUD_RESOURCES, stale, TIMEOUTS)).toEqual({
      machineId: "flux-dev-machine",
      resourceId: "A10G",
      timeoutMinutes: TIMEOUTS.default_minutes,
    });
  });

  it("types the resource only where the provider names it (runbooks)", () => {
    expect(typedResource(PROVIDERS.airplane)).toBe(true);
    expect(typedResource(PROVIDERS.comfy_deploy)).toBe(false);
    expect(typedResource(PROVIDERS.ibm_quantum)).toBe(false);
    // Parameters alone do not make a resource typed (the scripted provider's launch).
    const withParameters = { ...PROVIDERS.portholed, launch: { ...PROVIDERS.portholed.launch, takes_parameters: true } };
    expect(typedResource(withParameters)).toBe(false);
    expect(typedResource(null)).toBe(false);
  });

  it("keeps a typed runbook as remembered, guesses none, and has no lifetime without choices", () => {
    const { lifetime } = PROVIDERS.airplane;
    const remembered = { machine_id: "", resource: "deploy-api", timeout_minutes: null };
    expect(pickChoice([], MOCK_RUNBOOKS, remembered, lifetime, true)).toEqual({
      machineId: "",
      resourceId: "deploy-api",
      timeoutMinutes: null,
    });
    expect(pickChoice([], MOCK_RUNBOOKS, null, lifetime, true)).toEqual({
      machineId: "",
      resourceId: null,
      timeoutMinutes: null,
    });
  });

  it("never preselects an unavailable resource", () => {
    const local = MOCK_LOCAL_MACHINES[0];
    expect(resourceFor(local, MOCK_LOCAL_RESOURCES, "H100")).toBe("CPU");
    expect(resourceFor(undefined, [], null)).toBeNull();
  });

  it("offers no timeout longer than the resource allows (a cluster partition's limit)", () => {
    const partition = { ...MOCK_LOCAL_RESOURCES[0]!, id: "gpu/fake:1", max_minutes: 20 };
    const choices = TIMEOUTS.choices;
    const bounded = timeoutsFor(choices, partition);
    expect(Math.max(...bounded)).toBe(20);
    expect(bounded.every((m) => m <= 20)).toBe(true);
    expect(bounded).toEqual([...choices.filter((m) => m < 20), 20]);
    expect(timeoutsFor(choices, MOCK_LOCAL_RESOURCES[0])).toEqual(choices);
    expect(timeoutsFor(choices, undefined)).toEqual(choices);
    // The remembered or default lifetime moves to the longest allowed.
    expect(timeoutNear(bounded, 60)).toBe(20);
    expect(timeoutNear(bounded, bounded[0]!)).toBe(bounded[0]);
    const choice = pickChoice(MOCK_LOCAL_MACHINES, [partition], { machine_id: "terminal", resource: "gpu/fake:1", timeout_minutes: 120 }, TIMEOUTS);
    expect(choice).toEqual({ machineId: "terminal", resourceId: "gpu/fake:1", timeoutMinutes: timeoutNear(bounded, TIMEOUTS.default_minutes) });
  });
});

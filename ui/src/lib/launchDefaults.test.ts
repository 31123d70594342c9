import { beforeEach, describe, expect, it } from "vitest";
import { MOCK_CLOUD_MACHINES, MOCK_CLOUD_RESOURCES, MOCK_LOCAL_MACHINES, MOCK_LOCAL_RESOURCES } from "./backend";
import { PROVIDERS } from "./backend/providers";
import { loadLaunchDefaults, pickChoice, resourceFor, saveLaunchDefaults } from "./launchDefaults";

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
    });
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

  it("never preselects an unavailable resource", () => {
    const local = MOCK_LOCAL_MACHINES[0];
    expect(resourceFor(local, MOCK_LOCAL_RESOURCES, "H100")).toBe("CPU");
    expect(resourceFor(undefined, [], null)).toBeNull();
  });
});

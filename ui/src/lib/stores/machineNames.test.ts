import { describe, expect, it } from "vitest";
import type { Backend, Machine } from "../backend";
import { ASK_AGAIN_MS, MachineNames } from "./machineNames.svelte";

/** A backend whose `listMachines` answers from `answers` (an Error: that call fails), counting calls. */
function fakeBackend(answers: (Machine[] | Error)[]) {
  const calls: string[] = [];
  const backend = {
    listMachines: async (accountId: string) => {
      calls.push(accountId);
      const answer = answers.shift() ?? [];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Backend;
  return { backend, calls };
}

const machine = (id: string, name: string): Machine => ({
  id,
  name,
  can_launch: true,
  unavailable_reason: null,
  default_resource: null,
});

/** Lets the pending `listMachines` promise settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("MachineNames", () => {
  it("asks an account's machines once and then names its sessions' machines", async () => {
    const { backend, calls } = fakeBackend([[machine("uuid-1", "terminal"), machine("uuid-2", "comfyui")]]);
    const names = new MachineNames(backend);
    expect(names.name("local", "uuid-1")).toBeUndefined();
    expect(names.name("local", "uuid-2")).toBeUndefined();
    await settle();
    expect(names.name("local", "uuid-1")).toBe("terminal");
    expect(names.name("local", "uuid-2")).toBe("comfyui");
    expect(calls).toEqual(["local"]);
  });

  it("asks each account for its own machines, and nothing for a session without one", async () => {
    const { backend, calls } = fakeBackend([[machine("a", "on local")], [machine("a", "in the cloud")]]);
    const names = new MachineNames(backend);
    expect(names.name("local", null)).toBeUndefined();
    names.name("local", "a");
    names.name("cloud", "a");
    await settle();
    expect(names.name("local", "a")).toBe("on local");
    expect(names.name("cloud", "a")).toBe("in the cloud");
    expect(calls).toEqual(["local", "cloud"]);
  });

  it("asks again for a machine it did not know, or after a failure, but at most once a minute", async () => {
    let now = 1_000_000;
    const { backend, calls } = fakeBackend([
      new Error("offline"),
      [machine("old", "old")],
      [machine("old", "old"), machine("new", "built later")],
    ]);
    const names = new MachineNames(backend, () => now);
    names.name("cloud", "new");
    await settle();
    expect(names.name("cloud", "new")).toBeUndefined();
    expect(calls).toHaveLength(1);

    now += ASK_AGAIN_MS;
    names.name("cloud", "new");
    await settle();
    expect(calls).toHaveLength(2);
    expect(names.name("cloud", "old")).toBe("old");
    expect(names.name("cloud", "new")).toBeUndefined();
    now += ASK_AGAIN_MS - 1;
    names.name("cloud", "new");
    await settle();
    expect(calls).toHaveLength(2);

    now += 1;
    names.name("cloud", "new");
    await settle();
    expect(calls).toHaveLength(3);
    expect(names.name("cloud", "new")).toBe("built later");
    // Known names never cause a call.
    now += ASK_AGAIN_MS;
    names.name("cloud", "old");
    await settle();
    expect(calls).toHaveLength(3);
  });
});

// The stand-ins for remote providers (`porthole-fakes`, built by `make e2e`), started for one
// test file: each prints where it listens, on one line of JSON, and stops when its stdin closes.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Starts `porthole-fakes KIND CONFIG`; resolves to `{ child, ...what it printed }`. */
export async function startFake(kind, config) {
  const bin = new URL("../../target/debug/porthole-fakes", import.meta.url).pathname;
  const child = spawn(bin, [kind, JSON.stringify(config)], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    child.once("error", reject);
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  return { child, ...JSON.parse(line) };
}

/** Stops a fake started by `startFake`. */
export function stopFake(fake) {
  fake?.child.stdin.end();
  fake?.child.kill();
}

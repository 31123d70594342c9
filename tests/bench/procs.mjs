// What the app benchmark reads from /proc: process trees, start times, memory (PSS, RSS) and CPU
// time, with Portholed's session processes told apart by their environment.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** Clock ticks per second, the unit of /proc/PID/stat's times. */
export const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** The environment variable every session process of portholed carries. */
const SESSION_ENV = "PORTHOLE_SESSION_ID=";

/** /proc/PID/stat, parsed: comm, ppid, utime and stime (ticks), starttime (ticks after boot). */
export function stat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm is in parentheses and may hold spaces or parentheses itself: split after the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  // Fields from the 3rd (state) on; field n of proc(5) is rest[n - 3].
  const rest = text.slice(close + 2).split(" ");
  return {
    pid: Number(pid),
    comm,
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    starttime: Number(rest[19]),
  };
}

export function alive(pid) {
  const s = stat(pid);
  return s !== undefined && readState(pid) !== "Z";
}

function readState(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

function allStats() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(stat)
    .filter(Boolean);
}

/** Every live process below `root` (not `root` itself), shallowest first. */
export function descendants(root) {
  const stats = allStats();
  const out = [];
  let level = [root];
  while (level.length) {
    const next = stats.filter((s) => level.includes(s.ppid));
    out.push(...next);
    level = next.map((s) => s.pid);
  }
  return out;
}

export function exePath(pid) {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Whether the process is one of portholed's sessions (or a child of one). */
export function isSessionProcess(pid) {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "utf8");
    return env.startsWith(SESSION_ENV) || env.includes(`\0${SESSION_ENV}`);
  } catch {
    return false;
  }
}

/** Every live process on the machine that carries PORTHOLE_SESSION_ID, with its value. */
export function sessionProcesses() {
  const out = [];
  for (const s of allStats()) {
    try {
      const env = readFileSync(`/proc/${s.pid}/environ`, "utf8").split("\0");
      const entry = env.find((e) => e.startsWith(SESSION_ENV));
      if (entry && readState(s.pid) !== "Z") out.push({ ...s, session: entry.slice(SESSION_ENV.length) });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/**
 * What the benchmark counts as the app: the app process and its descendants (WebKit's processes),
 * minus session processes and everything below them, which are listed apart.
 */
export function appProcesses(appPid) {
  const below = descendants(appPid);
  const excluded = new Set();
  for (const s of below) {
    if (excluded.has(s.ppid) || isSessionProcess(s.pid)) excluded.add(s.pid);
  }
  const self = stat(appPid);
  return {
    counted: [self, ...below.filter((s) => !excluded.has(s.pid))].filter(Boolean),
    sessions: below.filter((s) => excluded.has(s.pid)),
  };
}

/** The pid of the first process below `root` whose executable is `appPath`. */
export function findApp(root, appPath) {
  return descendants(root).find((s) => exePath(s.pid) === appPath)?.pid;
}

/**
 * When the machine booted, in epoch ms, to about a millisecond: /proc/uptime has 10 ms steps, so
 * the smallest `Date.now() - uptime` over a few of its steps is the closest.
 */
export function bootEpochMs() {
  let best = Infinity;
  const until = Date.now() + 60;
  while (Date.now() < until) {
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    best = Math.min(best, Date.now() - uptime * 1000);
  }
  return best;
}

/** When the process was created (fork), in epoch ms; /proc gives it in ticks (10 ms steps). */
export function startEpochMs(pid, bootMs = bootEpochMs()) {
  const s = stat(pid);
  return s ? bootMs + (s.starttime * 1000) / CLK_TCK : undefined;
}

/** {pss, rss} in KiB from /proc/PID/smaps_rollup. */
export function memory(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kib = (key) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
    return { pss: kib("Pss"), rss: kib("Rss") };
  } catch {
    return { pss: 0, rss: 0 };
  }
}

/** Per process: utime + stime in ticks. */
export function cpuTicks(pids) {
  return new Map(
    pids.map((pid) => {
      const s = stat(pid);
      return [pid, s ? s.utime + s.stime : NaN];
    }),
  );
}

/** One process's CPU ticks (utime + stime) by thread name, summed over threads of that name. */
export function threadTicks(pid) {
  const out = new Map();
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    const s = stat(`${pid}/task/${tid}`);
    if (s) out.set(s.comm, (out.get(s.comm) ?? 0) + s.utime + s.stime);
  }
  return out;
}

/** Busy and total jiffies of the whole machine, from /proc/stat's first line. */
export function machineTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

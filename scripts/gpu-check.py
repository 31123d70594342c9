#!/usr/bin/env python3
"""Checks portholed's GPU discovery and pinning on a machine with NVIDIA GPUs (not part of
`make test`, which must pass without a GPU).

    scripts/gpu-check.py PATH/TO/portholed

Starts portholed on a free loopback port with a scratch data folder and a machine whose sessions
report what they see: CUDA_VISIBLE_DEVICES and, when PyTorch is installed, the CUDA devices it
can use. Then: the GPUs portholed lists match nvidia-smi's; a session on each kind of card is
pinned to one card; a CPU session sees no card; a card the machine lacks is a 400 naming what is
available; stopped sessions leave no process behind. Prints one line per check and exits 1 if
any failed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPORT = r"""
echo "CVD=[$CUDA_VISIBLE_DEVICES]"
python3 -c 'import torch; n = torch.cuda.device_count(); print("TORCH", n, "|".join(torch.cuda.get_device_name(i) for i in range(n)))' 2>/dev/null || echo "TORCH unavailable"
exec python3 -m http.server {port} --bind 127.0.0.1
"""

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def until(limit, f):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = f()
        if v:
            return v
        time.sleep(0.1)
    return None


def session_pids(sid):
    needle = ("PORTHOLE_SESSION_ID=" + sid).encode()
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        pids.append(int(p))
            except OSError:
                pass
    return pids


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = os.path.abspath(sys.argv[1])
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, check=True,
    ).stdout
    cards = [[p.strip() for p in line.split(",")] for line in smi.strip().splitlines()]
    print("nvidia-smi:", cards, flush=True)

    data = tempfile.mkdtemp(prefix="portholed-gpu-")
    config = os.path.join(data, "portholed.toml")
    with open(config, "w") as f:
        f.write("[machines.report]\ncommand = " + json.dumps(REPORT) + "\n")
    key = subprocess.run([exe, "key", "--data-dir", data, "--key-file"],
                         capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([exe, "--listen", f"127.0.0.1:{port}", "--config", config,
                               "--data-dir", data, "--key-file"])
    api = Api(f"http://127.0.0.1:{port}/api", key)
    try:
        up = until(20, lambda: _try(lambda: api.call("GET", "/machines")))
        check(up is not None and up[0] == 200, "portholed answers /machines")
        machine = next(m for m in up[1] if m["name"] == "report")
        listed = machine["gpus"]
        print("portholed lists:", [(g["index"], g["name"], g["model"], g["memory_mib"]) for g in listed])
        check(sorted(g["index"] for g in listed) == sorted(int(c[0]) for c in cards),
              "every card nvidia-smi shows is listed, by index")
        check(all(g["model"] == c[1] for g in listed for c in cards if int(c[0]) == g["index"]),
              "models match nvidia-smi's names")
        status, pricing = api.call("GET", "/platform/gpu-pricing")
        check(status == 200, "gpu-pricing answers")

        launched = []
        for name in sorted({g["name"] for g in listed}) + ["CPU"]:
            status, v = api.call("POST", "/session", {"machine_id": machine["id"], "gpu": name, "timeout": 5})
            check(status == 200, f"launch on {name}: {status} {v}")
            if status != 200:
                continue
            sid = v["session_id"]
            launched.append(sid)
            url = until(60, lambda: api.call("GET", f"/session/{sid}")[1].get("url"))
            check(url is not None, f"{name} session's url answers")
            log = open(os.path.join(data, "logs", sid + ".log")).read()
            cvd = log.split("CVD=[", 1)[1].split("]", 1)[0] if "CVD=[" in log else None
            torch = next((line for line in log.splitlines() if "TORCH" in line), "TORCH ?")
            print(f"  {name}: CUDA_VISIBLE_DEVICES={cvd!r}; {torch.split('TORCH', 1)[1].strip()}")
            if name == "CPU":
                check(cvd == "", "a CPU session sees no card")
                check("TORCH 0" in torch or "unavailable" in torch, "PyTorch in a CPU session finds no CUDA device")
            else:
                indexes = [g["index"] for g in listed if g["name"] == name]
                check(cvd is not None and cvd.isdigit() and int(cvd) in indexes,
                      f"the {name} session is pinned to one {name} card")
                if "unavailable" not in torch:
                    check("TORCH 1 " in torch, f"PyTorch in the {name} session sees exactly one device")

        status, v = api.call("POST", "/session", {"machine_id": machine["id"], "gpu": "B200-not-here", "timeout": 5})
        check(status == 400 and "Available" in json.dumps(v), f"a card the machine lacks is a 400 naming what is available: {v}")

        for sid in launched:
            api.call("DELETE", f"/session/{sid}")
            gone = until(30, lambda: api.call("GET", f"/session/{sid}")[0] == 404)
            check(bool(gone), f"session {sid[:8]} answers 404 after stop")
            check(bool(until(30, lambda: not session_pids(sid))), f"session {sid[:8]} left no process")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    print(f"gpu-check: {'FAILED ' + str(len(failures)) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


def _try(f):
    try:
        return f()
    except OSError:
        return None


if __name__ == "__main__":
    main()

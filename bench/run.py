#!/usr/bin/env python3
"""The benchmark: liquid-mesh and the original's stack, side by side, in one run on this machine.

Started by scripts/bench.sh (which builds the release binaries first). It starts two liquid-mesh
nodes joined in a mesh and the baseline (bench/baseline: two Node.js socket.io processes with the
Redis adapter and a redis-server), drives both with the same load generator
(target/release/liquid-mesh-load) and prints one table. Every figure is measured here, now;
nothing is asserted.
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "target" / "release" / "liquid-mesh"
LOAD_BIN = ROOT / "target" / "release" / "liquid-mesh-load"
BASELINE = ROOT / "bench" / "baseline"
TICKS = 100.0  # USER_HZ


def usage(pid):
    """(cpu seconds, rss KiB) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return cpu, rss


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_until(what, check, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{what} not ready within {seconds} s")


class Mesh:
    """Liquid-mesh nodes (two by default), each bootstrapping from the one before."""

    def __init__(self, base_port, extra_env=None, nodes=2):
        self.dir = tempfile.mkdtemp(prefix="liquid-mesh-bench-")
        self.procs = []
        self.urls = []
        self.p2p = []
        bootstrap = ""
        for i in range(nodes):
            port, p2p = base_port + 10 * i, base_port + 10 * i + 1
            env = {
                "PATH": os.environ["PATH"],
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "RP_ID": "localhost",
                "DATA_DIR": f"{self.dir}/node{i}",
                "P2P_LISTEN": f"/ip4/127.0.0.1/tcp/{p2p}",
                "BOOTSTRAP": bootstrap,
                "FIDO_RATE_PER_MINUTE": "0",
                "LINK_RATE_PER_MINUTE": "0",
                "DEMO": "false",
                "RUST_LOG": "warn",
                **(extra_env or {}),
            }
            log = open(f"{self.dir}/node{i}.log", "w")
            self.procs.append(subprocess.Popen([str(NODE_BIN)], env=env, stdout=log, stderr=log))
            url = f"http://127.0.0.1:{port}"
            self.urls.append(url)
            wait_until(f"liquid-mesh node {i}", lambda u=url: get_json(u + "/health")["status"] == "ok")
            # Another process on the port would answer for a node that could not bind it.
            time.sleep(0.5)
            if self.procs[-1].poll() is not None:
                log.flush()
                sys.exit(f"liquid-mesh node {i} exited (is port {port} or {p2p} taken?):\n"
                         + pathlib.Path(f"{self.dir}/node{i}.log").read_text()[-2000:])
            peer = get_json(url + "/health")["mesh"]["peerId"]
            bootstrap = f"/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer}"
            self.p2p.append(bootstrap)
        wait_until("the mesh", lambda: all(
            len(get_json(u + "/health")["mesh"]["peers"]) == min(1, nodes - 1) for u in self.urls))
        self.pids = [p.pid for p in self.procs]

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Baseline:
    """bench/baseline/start.sh: two Node.js processes and a redis-server."""

    def __init__(self, base_port):
        out = subprocess.run(["bash", str(BASELINE / "start.sh"), str(base_port)],
                             check=True, capture_output=True, text=True).stdout
        started = json.loads(out.strip().splitlines()[-1])
        self.urls = started["nodes"]
        self.pids = [started["pids"]["node1"], started["pids"]["node2"], started["pids"]["redis"]]

    def stop(self):
        subprocess.run(["bash", str(BASELINE / "stop.sh")], check=False, capture_output=True)


def load(*args, stdin=None, timeout=900):
    result = subprocess.run([str(LOAD_BIN), *map(str, args)], capture_output=True, text=True,
                            input=stdin, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"liquid-mesh-load {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def relay(system, website, wallet, pairs, rate, seconds, setup_concurrency=32):
    report, = load("relay", "--website", system.urls[website], "--wallet", system.urls[wallet],
                   "--pairs", pairs, "--rate", rate, "--duration-secs", seconds,
                   "--setup-concurrency", setup_concurrency, "--drain-secs", 10,
                   "--server-pids", ",".join(map(str, system.pids)))
    return report


def idle_memory(system, count):
    """KiB of the first node's RSS per idle connection, at `count` connections."""
    pid = system.pids[0]
    before = usage(pid)[1]
    proc = subprocess.Popen([str(LOAD_BIN), "idle", "--url", system.urls[0], "--count", str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    opened = json.loads(proc.stdout.readline())
    time.sleep(5)
    after = usage(pid)[1]
    proc.stdin.close()
    proc.wait(timeout=120)
    return {"connected": opened["connected"], "kib_per_connection": (after - before) / count,
            "rss_before_kib": before, "rss_after_kib": after}


def cpu_per_thousand(report):
    return report["server_cpu_seconds"] * 1000 / max(report["received"], 1)


# Signals per second each side of each of the 1,000 pairs sends (×2,000 = offered msg/s).
THROUGHPUT_STEPS = [2.5, 5, 10, 15, 20]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, to check the harness")
    parser.add_argument("--json", help="also write every raw report to this file")
    args = parser.parse_args()
    seconds = 5 if args.quick else 20
    idle_count = 2000 if args.quick else 10_000
    results = {"liquid-mesh": {}, "baseline": {}}

    # The baseline's packages, before its verification benchmark needs them.
    subprocess.run(["bash", str(BASELINE / "install.sh")], check=True)
    results["liquid-mesh"]["verify"], = load("verify", "--count", 200 if args.quick else 1000)
    verify = subprocess.run(["node", str(BASELINE / "verify_bench.mjs"), "2" if args.quick else "5"],
                            check=True, capture_output=True, text=True, cwd=BASELINE).stdout
    results["baseline"]["verify"] = json.loads(verify.strip().splitlines()[-1])

    # Below the ephemeral port range: ten thousand client sockets leave ports in TIME_WAIT there.
    systems = {"liquid-mesh": lambda: Mesh(26000), "baseline": lambda: Baseline(25000)}
    for name, start in systems.items():
        system = start()
        try:
            r = results[name]
            # First, on fresh processes: after the relay runs a heap has grown (and, for Node.js,
            # shrinks again under garbage collection while connections open).
            print(f"{name}: idle memory", file=sys.stderr)
            r["idle"] = idle_memory(system, idle_count)
            print(f"{name}: link latency", file=sys.stderr)
            r["link_cross_sequential"] = relay(system, 0, 1, 50, 1, 1, setup_concurrency=1)
            r["link_same_sequential"] = relay(system, 0, 0, 50, 1, 1, setup_concurrency=1)
            r["link_cross_20"] = relay(system, 0, 1, 200, 1, 1, setup_concurrency=20)
            print(f"{name}: relay latency at a fixed rate", file=sys.stderr)
            r["relay_cross"] = relay(system, 0, 1, 100, 10, seconds)
            r["relay_same"] = relay(system, 0, 0, 100, 10, seconds)
            native = lambda runs: load("native", "--website-node", system.p2p[0],
                                       "--wallet-node", system.p2p[1], "--runs", runs)[0]
            if name == "liquid-mesh":
                print(f"{name}: native direct setup", file=sys.stderr)
                r["native"] = native(20 if args.quick else 100)
            # Offered rates in steps: where a step loses nothing, the node sustained it; where
            # the load generator's own CPU nears 2 cores' worth, it was the limit, not the node.
            for per_side in THROUGHPUT_STEPS:
                print(f"{name}: 1,000 pairs at {per_side * 2000:.0f} msg/s", file=sys.stderr)
                r[f"throughput_{per_side}"] = relay(system, 0, 1, 1000, per_side, seconds)
            if name == "liquid-mesh":
                # The same right after the heaviest overload: how the mesh recovers.
                print(f"{name}: native direct setup after the overload", file=sys.stderr)
                r["native_after_overload"] = native(10 if args.quick else 30)
        finally:
            system.stop()

    # The same two relay runs with one tokio worker thread per node (TOKIO_WORKER_THREADS=1), as
    # for nodes sharing a host, one per core like the baseline's processes: a message then
    # wakes no second worker thread. The default is a worker per core.
    print("liquid-mesh: relay with one worker thread per node", file=sys.stderr)
    system = Mesh(26100, {"TOKIO_WORKER_THREADS": "1"})
    try:
        r = results["liquid-mesh"]
        r["relay_cross_one_worker"] = relay(system, 0, 1, 100, 10, seconds)
        r["throughput_5_one_worker"] = relay(system, 0, 1, 1000, 5, seconds)
    finally:
        system.stop()

    # The floor of our stack at this rate: one node with no mesh peer, where a signal costs the
    # Socket.IO bridge alone (a reader, a writer, the session view, the room).
    print("liquid-mesh: relay on one node with no peer", file=sys.stderr)
    system = Mesh(26200, nodes=1)
    try:
        results["liquid-mesh"]["relay_alone"] = relay(system, 0, 0, 100, 10, seconds)
    finally:
        system.stop()

    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
    print_table(results)


def print_table(results):
    ours, base = results["liquid-mesh"], results["baseline"]
    rows = []

    def row(what, a, b, fmt="{:.2f}", better="lower"):
        ratio = (a / b) if b else float("nan")
        rows.append((what, fmt.format(a), fmt.format(b), f"{ratio:.2f}"))

    for key, label in [("relay_cross", "cross-node relay, 2,000 msg/s"),
                       ("relay_same", "same-node relay, 2,000 msg/s")]:
        for q in ["p50", "p99", "max"]:
            row(f"{label}: latency {q} (ms)", ours[key]["latency"][q], base[key]["latency"][q])
        row(f"{label}: server CPU s per 1,000 msgs", cpu_per_thousand(ours[key]),
            cpu_per_thousand(base[key]), "{:.3f}")
        row(f"{label}: lost + duplicated", ours[key]["lost"] + ours[key]["duplicated"],
            base[key]["lost"] + base[key]["duplicated"], "{:.0f}")
    for per_side in THROUGHPUT_STEPS:
        t_o, t_b = ours[f"throughput_{per_side}"], base[f"throughput_{per_side}"]
        label = f"1,000 pairs cross-node, {per_side * 2000:,.0f} msg/s offered"
        row(f"{label}: delivered msg/s", t_o["messages_per_second"], t_b["messages_per_second"],
            "{:.0f}")
        row(f"{label}: lost + duplicated", t_o["lost"] + t_o["duplicated"],
            t_b["lost"] + t_b["duplicated"], "{:.0f}")
        row(f"{label}: latency p99 (ms)", t_o["latency"]["p99"], t_b["latency"]["p99"], "{:.1f}")
        row(f"{label}: server CPU s per 1,000 msgs", cpu_per_thousand(t_o), cpu_per_thousand(t_b),
            "{:.3f}")
        row(f"{label}: load generator CPU s", t_o["loadgen_cpu_seconds"],
            t_b["loadgen_cpu_seconds"])
    for key, base_key, label in [
            ("relay_cross_one_worker", "relay_cross", "cross-node relay, 2,000 msg/s"),
            ("throughput_5_one_worker", "throughput_5", "1,000 pairs cross-node, 10,000 msg/s")]:
        if key not in ours:
            continue
        label += ", one worker thread per node"
        for q in ["p50", "p99"]:
            row(f"{label}: latency {q} (ms)", ours[key]["latency"][q], base[base_key]["latency"][q])
        row(f"{label}: server CPU s per 1,000 msgs", cpu_per_thousand(ours[key]),
            cpu_per_thousand(base[base_key]), "{:.3f}")
        row(f"{label}: lost + duplicated", ours[key]["lost"] + ours[key]["duplicated"],
            base[base_key]["lost"] + base[base_key]["duplicated"], "{:.0f}")
    if "relay_alone" in ours:
        label = "same-node relay, 2,000 msg/s, one node with no peer (the bridge's floor)"
        for q in ["p50", "p99"]:
            row(f"{label}: latency {q} (ms)", ours["relay_alone"]["latency"][q],
                base["relay_same"]["latency"][q])
        row(f"{label}: server CPU s per 1,000 msgs", cpu_per_thousand(ours["relay_alone"]),
            cpu_per_thousand(base["relay_same"]), "{:.3f}")
    for key, label in [("link_same_sequential", "link, same node, sequential"),
                       ("link_cross_sequential", "link, cross-node, sequential"),
                       ("link_cross_20", "link, cross-node, 20 concurrent")]:
        for q in ["p50", "p99"]:
            row(f"{label}: {q} (ms)", ours[key]["link"][q], base[key]["link"][q])
    row("idle connection memory (KiB, 10,000 connections)", ours["idle"]["kib_per_connection"],
        base["idle"]["kib_per_connection"], "{:.1f}")
    v_o, v_b = ours["verify"], base["verify"]
    # The original checks the liquid proof with tweetnacl beside SimpleWebAuthn's registration.
    reg_us = v_b["simplewebauthn_registration"]["cpu_micros_per_op"]
    nacl_us = v_b["ed25519_verify_tweetnacl"]["cpu_micros_per_op"]
    row("registration verifications / s / core (with the liquid Ed25519 proof)",
        v_o["registrations_per_second"], 1e6 / (reg_us + nacl_us), "{:.0f}")
    row("assertion verifications / s / core", v_o["assertions_per_second"],
        v_b["simplewebauthn_authentication"]["per_cpu_second"], "{:.0f}")
    if "assertions_webauthn_rs_per_second" in v_o:
        row("assertion verifications / s / core, webauthn-rs alone",
            v_o["assertions_webauthn_rs_per_second"],
            v_b["simplewebauthn_authentication"]["per_cpu_second"], "{:.0f}")
    row("one P-256 verification (µs): ring here / node:crypto", v_o["p256_ring_us"],
        v_b["p256_verify_node_crypto"]["cpu_micros_per_op"], "{:.1f}")
    row("one P-256 verification (µs): RustCrypto (webauthn-rs) / WebCrypto",
        v_o["p256_rustcrypto_us"], v_b["p256_verify_webcrypto"]["cpu_micros_per_op"], "{:.1f}")
    row("one Ed25519 verification (µs): ed25519-dalek / tweetnacl", v_o["ed25519_us"], nacl_us,
        "{:.1f}")
    rows.append(("floor: ring P-256 + one Ed25519, verifications / s",
                 f"{v_o['floor_per_second']:.0f}", "", ""))

    print_rows(("", "liquid-mesh", "baseline", "ratio"), rows)

    # Native peers have no counterpart in the original: their setup is compared with a bare
    # libp2p-webrtc dial between the same two swarms' kind, in the same process.
    n = ours["native"]
    native = []
    for q in ["p50", "p99", "max"]:
        native.append((f"direct channel setup {q} (ms)", f"{n['pairing'][q]:.1f}",
                       f"{n['raw_dial'][q]:.1f}", f"{n['pairing'][q] / n['raw_dial'][q]:.2f}"))
    native.append((f"runs over 1 s (of {n['runs']})", str(n["pairing_over_one_second"]),
                   str(n["raw_dial_over_one_second"]), ""))
    native.append(("pairings not on the direct path", str(n["pairing_not_direct"]), "", ""))
    native.append(("failed (pairing: timed out or unreachable)", str(len(n["pairing_failed"])),
                   str(len(n["raw_dial_failed"])), ""))
    after = ours.get("native_after_overload")
    if after:
        native.append((f"right after the 40,000 msg/s overload: failed (of {after['runs']})",
                       str(len(after["pairing_failed"])), str(len(after["raw_dial_failed"])), ""))
        native.append(("right after the overload: setup p50 / p99 (ms)",
                       f"{after['pairing']['p50']:.1f} / {after['pairing']['p99']:.1f}",
                       f"{after['raw_dial']['p50']:.1f} / {after['raw_dial']['p99']:.1f}", ""))
    print()
    print_rows(("", "mesh pairing", "raw dial", "ratio"), native)


def print_rows(header, rows):
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    main()

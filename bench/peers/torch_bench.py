#!/usr/bin/python3
"""Native PyTorch peer (CPU, 2 threads). Same participant contract as bench/harness.ts:
    /usr/bin/python3 bench/peers/torch_bench.py --workload W3 [--windows 5] [--quick] [--spec '<json of SPEC>']
prints one JSON line per result: {lib, workload, case, unit, median, min, max, peakRssMiB, note}
plus one {"lib", "info"} line. bench/run.ts passes --spec (bench/workloads.ts SPEC) so shapes are shared;
the defaults below mirror it for standalone use. If torch is not importable every line says "not installed".
"""
import gc
import json
import math
import os
import resource
import statistics
import sys
import time

LIB = "torch"
DEFAULT_SPEC = {
    "W1": {"unit": "updates/s", "sizes": [1, 2, 2, 1], "lr": 0.5, "nData": 64},
    "W2": {"unit": "examples/s", "sizes": [784, 512, 512, 10], "batch": 128, "lr": 0.01, "nBatches": 8},
    "W3": {"unit": "tokens/s", "vocab": 10000, "embed": 200, "hidden": 200, "layers": 2, "batch": 20, "steps": 20,
           "optimizer": "sgd", "lr": 1, "clipNorm": 5, "initScale": 0.1},
    "W4": {"unit": "tokens/s", "vocab": 65, "embed": 64, "hidden": 256, "layers": 2, "batch": 32, "steps": 64,
           "optimizer": "adam", "lr": 0.002, "clipNorm": 5, "initScale": 0.08},
    "W5": {"unit": "GFLOP/s", "shapes": [[400, 200, 10000], [20, 400, 800], [512, 512, 512]], "forms": ["AB", "AtB", "ABt"]},
    "W6": {"unit": "tokens/s", "vocab": 17905, "embed": 200, "hidden": 200, "layers": 2, "initScale": 0.1, "nTokens": 4096},
}
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6"]
# Mirrors timingFor() in bench/workloads.ts.
BASE_TIMING = {
    "W1": dict(windows=5, minWindows=3, windowSec=1.0, warmupSec=0.5, maxMeasureSec=20),
    "W2": dict(windows=5, minWindows=3, windowSec=2.0, warmupSec=1.0, maxMeasureSec=40),
    "W3": dict(windows=5, minWindows=3, windowSec=3.0, warmupSec=2.0, maxMeasureSec=60),
    "W4": dict(windows=5, minWindows=3, windowSec=3.0, warmupSec=2.0, maxMeasureSec=60),
    "W5": dict(windows=5, minWindows=3, windowSec=0.4, warmupSec=0.2, maxMeasureSec=8),
    "W6": dict(windows=5, minWindows=3, windowSec=2.0, warmupSec=1.0, maxMeasureSec=40),
}


def timing_for(w, quick, windows):
    t = dict(BASE_TIMING[w])
    if quick:
        t.update(windows=2, minWindows=2, windowSec=max(0.15, t["windowSec"] / 3),
                 warmupSec=max(0.1, t["warmupSec"] / 3), maxMeasureSec=t["maxMeasureSec"] / 3)
    if windows is not None:
        t["windows"] = windows
        t["minWindows"] = min(t["minWindows"], windows)
    return t


def peak_rss_mib():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def result(w, spec, median=None, mn=None, mx=None, note="", case=""):
    emit({"lib": LIB, "workload": w, "case": case, "unit": spec[w]["unit"], "median": median, "min": mn, "max": mx,
          "peakRssMiB": peak_rss_mib(), "note": note})


def measure(step, units_per_step, t):
    step()  # first call: allocation / lazy init, untimed
    n, spent, per_step = 1, 0.0, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        dt = time.perf_counter() - t0
        spent += dt
        per_step = dt / n
        if spent >= t["warmupSec"] or dt >= t["windowSec"]:
            break
        n *= 2
    spw = max(1, round(t["windowSec"] / max(per_step, 1e-9)))
    windows = t["windows"]
    if windows * spw * per_step > t["maxMeasureSec"]:
        windows = max(t["minWindows"], min(windows, math.floor(t["maxMeasureSec"] / (spw * per_step))))
    rates = []
    for _ in range(windows):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(spw):
            step()
        dt = time.perf_counter() - t0
        rates.append(spw * units_per_step / dt)
    return statistics.median(rates), min(rates), max(rates), f"{windows} windows × {spw} steps"


def blas_info(torch):
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                base = os.path.basename(p)
                if any(k in base for k in ("blas", "mkl", "lapack", "dnnl", "mkldnn", "gomp", "omp")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    cfg = torch.__config__.show()
    import re
    mb = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    blas_line = f"BLAS_INFO={mb.group(1) if mb else '?'}"
    cap = ""
    try:
        cap = torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        cap = "?"
    coretype = ""
    try:
        import ctypes
        for p in libs:
            if "openblas" in p:
                lib = ctypes.CDLL(p)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                coretype = f"openblas core {lib.openblas_get_corename().decode()} ({lib.openblas_get_config().decode()})"
                break
    except Exception as e:  # noqa: BLE001
        coretype = f"openblas core ? ({e})"
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {blas_line}, "
            f"mkldnn={torch.backends.mkldnn.is_available()}, cpu capability {cap}, "
            f"{coretype or 'no openblas'}; libs: {', '.join(sorted('/'.join(x.split('/')[-2:]) for x in libs)) or 'none'}")


def main():
    args = sys.argv[1:]
    workloads, windows, quick, spec = list(WORKLOADS), None, False, DEFAULT_SPEC
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--quick":
            quick = True
        elif a in ("--workload", "--workloads"):
            i += 1
            workloads = [x.strip().upper() for x in args[i].split(",")]
        elif a == "--windows":
            i += 1
            windows = int(args[i])
        elif a == "--spec":
            i += 1
            spec = json.loads(args[i])
        i += 1
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        emit({"lib": LIB, "info": f"not installed ({type(e).__name__}: {e})"})
        for w in workloads:
            result(w, spec, note="not installed")
        return 0
    torch.set_num_threads(2)
    emit({"lib": LIB, "info": blas_info(torch)})
    impls = {"W1": w1, "W2": w2, "W3": lambda t, s, T: lstm(t, s["W3"], T, 3000), "W4": lambda t, s, T: lstm(t, s["W4"], T, 4000), "W5": w5, "W6": w6}
    rc = 0
    for w in workloads:
        try:
            for r in impls[w](torch, spec, timing_for(w, quick, windows)):
                result(w, spec, *r)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            result(w, spec, note=f"error: {str(e).splitlines()[0][:200]}")
            rc = 1
    return rc


def w1(torch, spec, t):
    s = spec["W1"]
    torch.manual_seed(1)
    sz = s["sizes"]
    layers = []
    for a, b in zip(sz[:-1], sz[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Sigmoid()]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=s["lr"])
    xs = torch.rand(s["nData"], 1, 1) * 2 - 1
    ts = torch.rand(s["nData"], 1, 1)
    state = {"i": 0}

    def step():
        i = state["i"]
        state["i"] = (i + 1) % s["nData"]
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * (net(xs[i]) - ts[i]).pow(2).sum()
        loss.backward()
        opt.step()

    m = measure(step, 1, t)
    return [(m[0], m[1], m[2], m[3] + "; nn.Sequential + optim.SGD, batch 1")]


def w2(torch, spec, t):
    s = spec["W2"]
    torch.manual_seed(2)
    sz = s["sizes"]
    layers = []
    for j, (a, b) in enumerate(zip(sz[:-1], sz[1:])):
        layers.append(torch.nn.Linear(a, b))
        if j < len(sz) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=s["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    xb = [torch.rand(s["batch"], sz[0]) for _ in range(s["nBatches"])]
    yb = [torch.randint(0, sz[-1], (s["batch"],)) for _ in range(s["nBatches"])]
    state = {"i": 0}

    def step():
        i = state["i"]
        state["i"] = (i + 1) % s["nBatches"]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb[i]), yb[i])
        loss.backward()
        opt.step()

    m = measure(step, s["batch"], t)
    return [(m[0], m[1], m[2], m[3])]


def lstm(torch, s, t, seed):
    torch.manual_seed(seed)
    V, E, H, L, B, T = s["vocab"], s["embed"], s["hidden"], s["layers"], s["batch"], s["steps"]

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(V, E)
            self.rnn = torch.nn.LSTM(E, H, L)  # time-major [T, B, *]
            self.out = torch.nn.Linear(H, V)
            for p in self.parameters():
                torch.nn.init.uniform_(p, -s["initScale"], s["initScale"])

        def forward(self, ids, state):
            y, state = self.rnn(self.emb(ids), state)
            return self.out(y.reshape(T * B, H)), state

    model = LM()
    opt = torch.optim.SGD(model.parameters(), lr=s["lr"]) if s["optimizer"] == "sgd" else torch.optim.Adam(model.parameters(), lr=s["lr"])
    nb = 4
    inputs = [torch.randint(0, V, (T, B)) for _ in range(nb)]
    targets = [torch.randint(0, V, (T * B,)) for _ in range(nb)]
    st = {"k": 0, "state": (torch.zeros(L, B, H), torch.zeros(L, B, H))}

    def step():
        k = st["k"]
        st["k"] = (k + 1) % nb
        h, c = st["state"]
        opt.zero_grad(set_to_none=True)
        logits, (h, c) = model(inputs[k], (h.detach(), c.detach()))  # gradient stopped at the boundary
        # TF PTB loss: sum over time of mean over batch
        loss = torch.nn.functional.cross_entropy(logits, targets[k], reduction="sum") / B
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s["clipNorm"])
        opt.step()
        st["state"] = (h, c)

    m = measure(step, B * T, t)
    return [(m[0], m[1], m[2], m[3] + "; nn.Embedding + nn.LSTM + Linear")]


def w5(torch, spec, t):
    s = spec["W5"]
    out = []
    names = {"AB": "A·B", "AtB": "Aᵀ·B", "ABt": "A·Bᵀ"}
    for M, K, N in s["shapes"]:
        for form in s["forms"]:
            a = torch.rand(K, M) if form == "AtB" else torch.rand(M, K)
            b = torch.rand(N, K) if form == "ABt" else torch.rand(K, N)
            if form == "AtB":
                f = lambda a=a, b=b: torch.mm(a.t(), b)  # noqa: E731
            elif form == "ABt":
                f = lambda a=a, b=b: torch.mm(a, b.t())  # noqa: E731
            else:
                f = lambda a=a, b=b: torch.mm(a, b)  # noqa: E731
            m = measure(f, 2 * M * K * N / 1e9, t)
            out.append((m[0], m[1], m[2], m[3], f"{M}x{K}x{N} {names[form]}"))
    return out


def w6(torch, spec, t):
    """Batch-1 scoring: one token per step through embedding, the 2-layer LSTM and the projection, then the
    cross-entropy of the next token; no gradient, eval mode, state carried (what `eval --batch-size 1` does)."""
    s = spec["W6"]
    torch.manual_seed(6)
    V, E, H, L = s["vocab"], s["embed"], s["hidden"], s["layers"]

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(V, E)
            self.rnn = torch.nn.LSTM(E, H, L)
            self.out = torch.nn.Linear(H, V)
            for p in self.parameters():
                torch.nn.init.uniform_(p, -s["initScale"], s["initScale"])

    model = LM().eval()
    ids = torch.randint(0, V, (s["nTokens"] + 1,))
    st = {"i": 0, "state": (torch.zeros(L, 1, H), torch.zeros(L, 1, H)), "cost": 0.0}

    def step():
        i = st["i"]
        st["i"] = (i + 1) % s["nTokens"]
        with torch.no_grad():
            y, st["state"] = model.rnn(model.emb(ids[i:i + 1].view(1, 1)), st["state"])
            logits = model.out(y.view(1, H))
            st["cost"] += torch.nn.functional.cross_entropy(logits, ids[i + 1:i + 2]).item()

    m = measure(step, 1, t)
    return [(m[0], m[1], m[2], m[3] + "; no_grad, eval(), one token per step, state carried")]


if __name__ == "__main__":
    sys.exit(main())

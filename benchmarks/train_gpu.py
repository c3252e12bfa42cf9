"""Training throughput on a GPU: the study's conv β-VAE (β = 4) on dSprites, batch 64, data made on the device.

Three ways, alternated in one process:

- ``plain``: fp32 eager PyTorch, batches rendered on the GPU (the dSprites sprite bank lives in GPU memory
  and a batch is one scatter) — the peer every number is compared with;
- ``fast``: the same loop with the library's fast path (bf16 autocast, channels_last, foreach Adam,
  ``torch.compile`` of the nets), data on the GPU;
- ``disentangle train``: the library's trainer as a user runs it (``--device cuda``), batches rendered ahead
  in a CPU thread.

Prints images/s, the ratio to ``plain``, the fraction of the GPU's measured bf16 / fp32 matrix-product rate,
and the time a 300k-step run (the study's length) would take.  Goal: >= 30k images/s on one H100, 300k
steps in <= 11 minutes.

    python benchmarks/train_gpu.py [--steps 2000] [--repeats 3] [--device cuda]
    python benchmarks/train_gpu.py --ablation --steps 1000     # each speed-up alone, against fp32 eager
    python benchmarks/train_gpu.py --packs 4,16,64 --steps 300  # K runs as one stacked model (pack.py), issue 24
    python benchmarks/train_gpu.py --graph --steps 300           # the whole step as one CUDA graph, solo and packed
    python benchmarks/train_gpu.py --trainer --steps 2000        # the trainer, batches from a thread / on the device

``--graph`` (issue 24, item 1): a bare loop of the study's β-VAE whose whole step — the batch drawn on the
device, forward, backward, Adam — is captured once as a CUDA graph and replayed, solo and for K runs stacked with
``torch.func`` (every layer one vmapped kernel; K = 1 is a solo run's kernels), beside the same steps eager; the
loss after the timed steps shows the replayed graph trains.

``--packs``: the library's ``pack.Stack`` (what ``disentangle sweep --pack K`` trains) of K study β-VAEs with
different seeds, fp32, the data of all K drawn on the device in one scatter, each mode (``vmap``: one kernel per
layer for the pack; ``loop``: each member's solo kernels in turn) beside a pack of one (a solo run's step) in
the same process: images/s of the pack, per run, the ratio to the pack of one, and the projected time of the
Locatello et al. 2019 grid for one dataset (1,800 runs of 300k steps) at that rate.
"""
from __future__ import annotations

import argparse
import faulthandler
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from disentanglement.config import make_config
from disentanglement.data import DSprites
from disentanglement.data.dsprites import IMAGE
from disentanglement.models import build_model
from disentanglement.nets import Conv64Decoder, Conv64Encoder
from disentanglement.pack import Stack
from disentanglement.train import train


class DeviceDSprites:
    """dSprites drawn on ``device``: uniform factors from a device generator, rendered by the library's
    ``DSprites.torch_renderer`` (the sprite masks in device memory, one scatter per batch)."""

    def __init__(self, device: torch.device, seed: int | None = 0):
        data = DSprites()
        self.render = data.torch_renderer(device)
        self.sizes = torch.tensor(data.factor_sizes, device=device)
        # seed None: the device's default generator, the one a CUDA graph can capture
        self.gen = None if seed is None else torch.Generator(device=device).manual_seed(seed)
        self.device = device

    def batch(self, n: int) -> torch.Tensor:                                                # (n, 1, 64, 64)
        return self.render((torch.rand(n, 5, generator=self.gen, device=self.device) * self.sizes).long())


class StudyVAE(nn.Module):
    """The study's β-VAE (β = 4) as one module whose forward is the loss: x (B, 1, 64, 64) -> scalar."""

    def __init__(self):
        super().__init__()
        self.enc, self.dec = Conv64Encoder(1, 10), Conv64Decoder(1, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.enc(x)
        mu, logvar = mu.float(), logvar.float()                                  # (B, 10)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.dec(z).float()                                             # (B, 1, 64, 64)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        return recon + 4.0 * kl


def make_loop(device: torch.device, fast: bool, *, bf16: bool | None = None, channels_last: bool | None = None,
              compile_mode: str | None = "default"):
    """One training step of the study's β-VAE; ``fast`` turns every speed-up on, the keywords one by one
    (compile_mode None: eager)."""
    bf16 = fast if bf16 is None else bf16
    channels_last = fast if channels_last is None else channels_last
    compiled = fast if compile_mode == "default" else compile_mode is not None
    torch.manual_seed(0)
    model = StudyVAE().to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compiled:
        model.enc.compile(mode=compile_mode), model.dec.compile(mode=compile_mode)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=True if fast else None)
    data = DeviceDSprites(device)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def step():
        x = data.batch(64)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with amp:
            loss = model(x)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


ABLATION = {"fp32 eager": {}, "bf16": {"bf16": True}, "channels_last": {"channels_last": True},
            "compile": {"compile_mode": "default"}, "compile, CUDA graphs": {"compile_mode": "reduce-overhead"},
            "bf16 + compile": {"bf16": True, "compile_mode": "default"}}


def ablation(device: torch.device, steps: int) -> None:
    """Each speed-up of the fast path alone (images/s after 30 warm-up steps), printed as measured."""
    for name, settings in ABLATION.items():
        step = make_loop(device, False, **{"compile_mode": None, **settings})
        rate(step, 30, device)
        print(f"ablation  {name:<22} {rate(step, steps, device):9.0f} images/s", flush=True)


def rate(step, steps: int, device: torch.device) -> float:
    """Images per second over ``steps`` steps, synchronised at both ends."""
    torch.cuda.synchronize(device) if device.type == "cuda" else None
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize(device) if device.type == "cuda" else None
    return 64 * steps / (time.perf_counter() - start)


def trainer_rate(steps: int, device: torch.device, data_on_device: bool = False) -> float:
    config = make_config({"model": "beta_vae", "dataset": "dsprites", "steps": steps, "log_every": 500,
                          "checkpoint_every": steps, "data_on_device": data_on_device}, ["penalty.beta=4"])
    with tempfile.TemporaryDirectory() as out:
        result = train(config, out, device=str(device), progress=False, tensorboard=False)
    return 64 * steps / result.seconds


def trainers(device: torch.device, steps: int, repeats: int) -> None:
    """``disentangle train``'s images/s with batches from the CPU thread and rendered on the device, alternated."""
    trainer_rate(100, device), trainer_rate(100, device, True)              # warm-up: CUDA context, cuDNN
    rates: dict[str, list[float]] = {"CPU thread": [], "data_on_device": []}
    for _ in range(repeats):
        rates["CPU thread"].append(trainer_rate(steps, device))
        rates["data_on_device"].append(trainer_rate(steps, device, True))
        print("images/s:", {name: round(v[-1]) for name, v in rates.items()}, flush=True)
    base = statistics.median(rates["CPU thread"])
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"disentangle train, batches from {name:<16} {med:9.0f} images/s  x{med / base:.2f}  "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})", flush=True)


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int = 8192, reps: int = 20) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n ** 3 * rate(lambda: a @ b, reps, device) / 64


def pack_loop(device: torch.device, k: int, vmapped: bool):
    """One training step of a pack of k study β-VAEs (seeds 0..k-1), fp32, data drawn on the device."""
    config = make_config({"model": "beta_vae", "dataset": "dsprites", "fast": False}, ["penalty.beta=4"])
    dataset = DSprites()
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        models.append(build_model(config, dataset).to(device))
    stack = Stack(models, config, device, vmapped)
    data = DeviceDSprites(device)
    gens = [torch.Generator(device=device).manual_seed(seed) for seed in range(k)]
    counter = iter(range(10 ** 9))

    def step():
        stack.step(next(counter), data.batch(64 * k).view(k, 64, 1, IMAGE, IMAGE), gens)
    return step


def whole_step(device: torch.device, k: int, graphed: bool, bf16: bool = False):
    """A step of k study β-VAEs (k = 1: a solo run's kernels; k > 1: parameters stacked, each layer one vmapped
    kernel), the batch drawn on the device; ``graphed``: captured once as a CUDA graph, then replayed.
    Returns (step, loss): ``loss`` holds the last step's summed loss."""
    torch.manual_seed(0)
    models = [StudyVAE().to(device) for _ in range(k)]
    if k == 1:
        params = list(models[0].parameters())
        forward = models[0]
    else:
        stacked, _ = torch.func.stack_module_state(models)                      # name -> (k, *shape)
        stacked = {name: t.detach().requires_grad_() for name, t in stacked.items()}
        params = list(stacked.values())
        per_member = torch.func.vmap(lambda p, x: torch.func.functional_call(models[0], p, (x,)),
                                     randomness="different")

        def forward(x):                                                          # x (k * 64, 1, 64, 64)
            return per_member(stacked, x.view(k, 64, 1, IMAGE, IMAGE)).sum()     # members' losses are independent
    opt = torch.optim.Adam(params, lr=1e-4, foreach=True, capturable=graphed)
    data = DeviceDSprites(device, seed=None)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    loss = torch.zeros((), device=device)

    def body():
        with amp:
            value = forward(data.batch(64 * k))
        value.backward()
        opt.step()
        return value.detach()

    if not graphed:
        def step():
            loss.copy_(body())
            opt.zero_grad(set_to_none=True)
        return step, loss
    side = torch.cuda.Stream(device)                  # warm-up off the capture stream, as torch.cuda.graph asks
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            body()
            opt.zero_grad(set_to_none=True)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):                     # gradients are allocated here, so each replay overwrites them
        loss.copy_(body())
    alive = (models, params, opt, data)               # the graph reads and writes their memory but holds no
                                                      # reference: freed, it replays into reused blocks

    def replay():
        assert alive
        graph.replay()
    return replay, loss


GRAPH_VARIANTS = {"solo eager": (1, False, False), "solo graph": (1, True, False),
                  "vmap 16 eager": (16, False, False), "vmap 16 graph": (16, True, False),
                  "vmap 64 graph": (64, True, False), "vmap 64 graph bf16": (64, True, True)}


def graphs(device: torch.device, steps: int, repeats: int, names: list[str] | None = None) -> None:
    """images/s of each whole-step variant (``names``: these only, with "solo eager" always), alternated
    ``repeats`` times; the loss each reached."""
    if device.type != "cuda":
        print("CUDA graphs need a CUDA device: timing the eager variants only", flush=True)
    keep = set(names or GRAPH_VARIANTS) | {"solo eager"}
    variants = {name: v for name, v in GRAPH_VARIANTS.items() if name in keep and (device.type == "cuda" or not v[1])}
    loops = {}
    for name, (k, graphed, bf16) in variants.items():
        try:                                          # one variant that cannot capture must not take the rest
            began = time.perf_counter()
            loops[name] = whole_step(device, k, graphed, bf16)
            rate(loops[name][0], 5, device)
            print(f"{name}: built and warmed in {time.perf_counter() - began:.1f} s", flush=True)
        except Exception as err:
            print(f"{name}: failed: {type(err).__name__}: {str(err).splitlines()[0][:300]}", flush=True)
            loops.pop(name, None)
    faulthandler.cancel_dump_traceback_later()         # built and captured: no hang to report
    rates: dict = {name: [] for name in loops}
    for _ in range(repeats):
        for name, (step, _) in loops.items():
            rates[name].append(variants[name][0] * rate(step, steps, device))
        print("images/s:", {name: round(v[-1]) for name, v in rates.items()}, flush=True)
    base = statistics.median(rates["solo eager"])
    print(f"{'whole step':<20} {'images/s':>10} {'per run':>9} {'x solo':>7} {'300k steps':>11} {'loss/run':>9}")
    for name, values in rates.items():
        k, med = variants[name][0], statistics.median(values)
        print(f"{name:<20} {med:10.0f} {med / k:9.0f} {med / base:7.2f} {300000 * 64 * k / med / 60:8.1f} min "
              f"{loops[name][1].item() / k:9.1f}  (runs: {', '.join(f'{v:.0f}' for v in values)})", flush=True)


GRID_RUNS, GRID_STEPS = 1800, 300_000        # Locatello et al. 2019: 6 methods x 6 settings x 50 seeds, one dataset


def packs(device: torch.device, sizes: list[int], modes: list[str], steps: int, repeats: int) -> None:
    """images/s of packs of each size and mode beside a pack of one, alternated ``repeats`` times."""
    loops = {("solo", 1): pack_loop(device, 1, False)}
    rate(loops[("solo", 1)], 5, device)
    for k in sizes:
        for mode in modes:
            try:                                      # a pack that fails (memory, vmap) must not take the rest
                loops[(mode, k)] = pack_loop(device, k, mode == "vmap")
                rate(loops[(mode, k)], 5, device)
            except Exception as err:
                print(f"{mode} {k}: failed: {type(err).__name__}: {str(err).splitlines()[0][:300]}", flush=True)
                loops.pop((mode, k), None)
    rates: dict = {key: [] for key in loops}
    for _ in range(repeats):
        for (mode, k), step in loops.items():
            rates[(mode, k)].append(k * rate(step, steps, device))
        print("images/s:", {f"{m} {k}": round(v[-1]) for (m, k), v in rates.items()}, flush=True)
    base = statistics.median(rates[("solo", 1)])
    print(f"{'pack':<10} {'images/s':>10} {'per run':>9} {'x solo':>7}  grid of {GRID_RUNS} runs x {GRID_STEPS // 1000}k steps")
    for (mode, k), values in rates.items():
        med = statistics.median(values)
        hours = GRID_RUNS * GRID_STEPS * 64 / med / 3600
        print(f"{mode + ' ' + str(k):<10} {med:10.0f} {med / k:9.0f} {med / base:7.2f}  {hours:8.0f} h"
              f"  (runs: {', '.join(f'{v:.0f}' for v in values)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--ablation", action="store_true", help="only time each speed-up alone")
    parser.add_argument("--packs", help="only time packs of these sizes, e.g. 4,16,64 (pack.py)")
    parser.add_argument("--modes", default="vmap,loop", help="pack modes to time (vmap, loop)")
    parser.add_argument("--graph", action="store_true", help="only time the whole step captured as a CUDA graph")
    parser.add_argument("--trainer", action="store_true",
                        help="only time disentangle train with batches from the CPU thread and with data_on_device")
    parser.add_argument("--variants", help=f"with --graph: these only, comma-separated ({', '.join(GRAPH_VARIANTS)})")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(torch.cuda.get_device_name(device), f"torch {torch.__version__}")
    if args.ablation:
        return ablation(device, args.steps)
    if args.trainer:
        return trainers(device, args.steps, args.repeats)
    if args.graph:
        faulthandler.dump_traceback_later(75)          # where a capture hangs, if one does
        return graphs(device, args.steps, args.repeats, args.variants.split(",") if args.variants else None)
    if args.packs:
        return packs(device, [int(k) for k in args.packs.split(",")], args.modes.split(","), args.steps, args.repeats)
    loops = {"plain": make_loop(device, False), "fast": make_loop(device, True)}
    for step in loops.values():                       # warm up: compile, cuDNN autotuning
        rate(step, 50, device)
    trainer_rate(200, device)
    rates: dict[str, list[float]] = {"plain": [], "fast": [], "disentangle train": []}
    for _ in range(args.repeats):
        for name, step in loops.items():
            rates[name].append(rate(step, args.steps, device))
        rates["disentangle train"].append(trainer_rate(args.steps, device))
        print("images/s:", {name: round(values[-1]) for name, values in rates.items()}, flush=True)
    enc, dec = Conv64Encoder(1, 10), Conv64Decoder(1, 10)
    with FlopCounterMode(display=False) as counter:
        x = torch.rand(64, 1, 64, 64)
        F.binary_cross_entropy_with_logits(dec(enc(x)[0]), x).backward()
    flops = counter.get_total_flops() / 64
    n = 8192 if device.type == "cuda" else 1024     # on a CPU (a dry run of the script) a small product will do
    limit = {"fp32": matmul_rate(device, torch.float32, n), "bf16": matmul_rate(device, torch.bfloat16, n)}
    print(f"{flops / 1e6:.1f} MFLOP per training image; matrix products: fp32 {limit['fp32'] / 1e12:.1f} TFLOP/s, "
          f"bf16 {limit['bf16'] / 1e12:.1f} TFLOP/s")
    base = statistics.median(rates["plain"])
    for name, values in rates.items():
        med = statistics.median(values)
        lim = limit["fp32" if name == "plain" else "bf16"]
        print(f"{name:<18} {med:9.0f} images/s  x{med / base:.2f} vs plain  {med * flops / lim:6.2%} of its limit  "
              f"300k steps in {300000 * 64 / med / 60:5.1f} min  (runs: {', '.join(f'{v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()

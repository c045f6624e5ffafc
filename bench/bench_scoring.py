"""Benchmark of the scoring engine on a national workload, against a plain-Python reference.

Run from the repository root: ``python bench/bench_scoring.py`` (no Django needed).

Workload (generated here, fixed seed): 550 regions x 200 indicators x 10 cycles = 1.1 million
answer slots in random row order; 6 dimensions, 34 elements, random positive weights; random
levels 1-5 with ~5% unanswered per basis; 25 agencies per region, their slugs unique within
the region and drawn from a national vocabulary of 40 (as regions.Agency models them); per
(region, element) a lead agency owning its indicators and a supporting agency owning ~20% of
them (domain.md §6); a 4-5 member cluster per cycle; a target for every (region, element); a
previous-cycle result. So every table of compute() is built.

The engine is timed on the same data four ways, each the full ``compute()`` the pipeline calls
(all seven tables):

- code columns as ``category``, rows shuffled: the headline (the machine-readable line). The
  form a selector gets for free by building the columns from foreign-key ids with
  ``pd.Categorical.from_codes`` (the conversion is not timed); shuffled rows are the worst case
  for row order, so the figure holds whatever order the database returns;
- the same with rows in canonical order (cycle, region, then dimension, element, indicator),
  the order reports/selectors.py asks the database for;
- code columns as plain ``str`` (pandas' default for strings), rows shuffled;
- ``str`` columns in canonical order: what reports/selectors.py passes today (there each
  string is a distinct object fresh from the database driver, whose hash is not cached yet;
  here the strings are shared, so this figure flatters the str forms a little).

The reference is what one would write without the engine: one pass over the answer rows
(columns converted to lists and zipped) accumulating weighted sums in dicts per element, then
per dimension, then per region, both bases. Engine and reference must agree to 1e-9 on every
region index and dimension score, both bases; the four engine inputs must give byte-identical
JSON.

Rounds interleave the reference and the engine, so that a busy machine slows both alike. Each
figure is a median of wall-clock seconds; the CPU seconds (process time) of the same runs are
reported beside them, because on a shared machine wall-clock time also counts the time the
process waited for a CPU, and the two are single-threaded alike. The first engine run of each
round comes right after the reference, in the memory and caches it leaves behind, and is
slower; its median is shown on its own line.

The last line is machine-readable and reports the headline (category, shuffled):
``bench: scoring: answers=<n> engine_s=<x> reference_s=<y> ratio=<r> peak_mb=<m> cpu_ratio=<c>``
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from reports.scoring import TABLES, compute

SEED = 20_241_128
N_REGIONS = 550
N_INDICATORS = 200
N_CYCLES = 10
N_DIMENSIONS = 6
N_ELEMENTS = 34
AGENCIES_PER_REGION = 25
AGENCY_SLUGS = 40
SUPPORTING_SHARE = 0.2
UNANSWERED = 0.05
ROUNDS = 5
ENGINE_RUNS_PER_ROUND = 5
TOLERANCE = 1e-9
CODE_COLUMNS = ("region", "indicator", "agency")


def make_framework(rng: np.random.Generator) -> pd.DataFrame:
    dims = [f"D{d + 1}" for d in range(N_DIMENSIONS)]
    per_dim = np.full(N_DIMENSIONS, N_ELEMENTS // N_DIMENSIONS)
    per_dim[: N_ELEMENTS % N_DIMENSIONS] += 1
    el_dim = np.repeat(np.arange(N_DIMENSIONS), per_dim)
    el_codes = [f"{dims[d]}-E{k + 1:02d}" for k, d in enumerate(el_dim)]
    per_el = 1 + rng.multinomial(N_INDICATORS - N_ELEMENTS, np.full(N_ELEMENTS, 1 / N_ELEMENTS))
    ind_el = np.repeat(np.arange(N_ELEMENTS), per_el)
    w_dim = rng.uniform(0.5, 2.0, N_DIMENSIONS)
    w_el = rng.uniform(0.5, 2.0, N_ELEMENTS)
    return pd.DataFrame(
        {
            "dimension": [dims[el_dim[e]] for e in ind_el],
            "element": [el_codes[e] for e in ind_el],
            "indicator": [f"IND-{i + 1:03d}" for i in range(N_INDICATORS)],
            "w_dimension": w_dim[el_dim[ind_el]],
            "w_element": w_el[ind_el],
            "w_indicator": rng.uniform(0.5, 2.0, N_INDICATORS),
        }
    )


def make_answers(rng: np.random.Generator, framework: pd.DataFrame) -> pd.DataFrame:
    regions = np.array(
        [f"{11 + r // 20:02d}.{1 + r % 20:02d}" for r in range(N_REGIONS)], dtype=object
    )
    cycles = np.arange(2016, 2016 + N_CYCLES)
    indicators = framework["indicator"].to_numpy(dtype=object)
    _, ind_element = np.unique(framework["element"].to_numpy(dtype=object), return_inverse=True)
    # agencies as the portal models them: a slug unique within its region, from a national
    # vocabulary (dinkes, dishub, ... in every region); each region has 25 of the 40
    vocabulary = np.array([f"opd-{k:02d}" for k in range(AGENCY_SLUGS)], dtype=object)
    region_agencies = np.argsort(rng.random((N_REGIONS, AGENCY_SLUGS)), axis=1)[
        :, :AGENCIES_PER_REGION
    ]
    # per region and element a lead agency and a supporting one (domain.md §6); the lead owns
    # the element's indicators except a random SUPPORTING_SHARE owned by the supporter
    lead = rng.integers(0, AGENCIES_PER_REGION, (N_REGIONS, N_ELEMENTS))
    support = rng.integers(0, AGENCIES_PER_REGION, (N_REGIONS, N_ELEMENTS))
    supported = rng.random((N_REGIONS, N_INDICATORS)) < SUPPORTING_SHARE
    local = np.where(supported, support[:, ind_element], lead[:, ind_element])
    owner = np.take_along_axis(region_agencies, local, axis=1)  # (region, indicator) -> slug

    n = N_CYCLES * N_REGIONS * N_INDICATORS
    c = np.repeat(np.arange(N_CYCLES), N_REGIONS * N_INDICATORS)
    r = np.tile(np.repeat(np.arange(N_REGIONS), N_INDICATORS), N_CYCLES)
    i = np.tile(np.arange(N_INDICATORS), N_CYCLES * N_REGIONS)
    self_level = rng.integers(1, 6, n).astype(np.float64)
    final_level = np.clip(self_level + rng.integers(-1, 2, n), 1, 5)
    self_level[rng.random(n) < UNANSWERED] = np.nan
    final_level[rng.random(n) < UNANSWERED] = np.nan
    shuffle = rng.permutation(n)  # the engine must not rely on any row order
    c, r, i = c[shuffle], r[shuffle], i[shuffle]
    return pd.DataFrame(
        {
            "cycle": cycles[c],
            "region": regions[r],
            "indicator": indicators[i],
            "agency": vocabulary[owner[r, i]],
            "self_level": self_level[shuffle],
            "final_level": final_level[shuffle],
        }
    )


def make_extras(rng: np.random.Generator, framework: pd.DataFrame, answers: pd.DataFrame):
    regions = np.sort(answers["region"].unique())
    cycles = np.sort(answers["cycle"].unique())
    members = regions[:5]
    cluster = pd.DataFrame(
        [(c, reg) for c in cycles for reg in (members if c >= cycles[3] else members[:4])],
        columns=["cycle", "region"],
    )
    elements = framework["element"].unique()
    targets = pd.DataFrame(
        {
            "region": np.repeat(regions, len(elements)),
            "element": np.tile(elements, len(regions)),
            "target_level": rng.uniform(2.5, 4.5, len(regions) * len(elements)),
        }
    )
    first = answers[answers["cycle"] == cycles[0]].assign(cycle=cycles[0] - 1)
    previous = compute(first, framework)
    return cluster, targets, previous


def reference(answers: pd.DataFrame, framework: pd.DataFrame):
    """Plain Python: weighted sums in dicts per element, then per dimension, then per region."""
    ind_info = {}
    el_wsum: dict[str, float] = defaultdict(float)
    el_weight, el_dim, dim_weight = {}, {}, {}
    for d, e, ind, wd, we, wi in zip(
        framework["dimension"],
        framework["element"],
        framework["indicator"],
        framework["w_dimension"],
        framework["w_element"],
        framework["w_indicator"],
        strict=True,
    ):
        ind_info[ind] = (e, wi)
        el_wsum[e] += wi
        el_weight[e] = we
        el_dim[e] = d
        dim_weight[d] = wd
    dim_elements: dict[str, list[str]] = defaultdict(list)
    for e, d in el_dim.items():
        dim_elements[d].append(e)

    acc: dict[tuple, float] = defaultdict(float)
    groups = set()
    for cyc, reg, ind, s, f in zip(
        answers["cycle"].tolist(),
        answers["region"].tolist(),
        answers["indicator"].tolist(),
        answers["self_level"].tolist(),
        answers["final_level"].tolist(),
        strict=True,
    ):
        e, wi = ind_info[ind]
        groups.add((cyc, reg))
        if s == s:  # not NaN
            acc[(cyc, reg, "provisional", e)] += wi * s
        if f == f:
            acc[(cyc, reg, "final", e)] += wi * f

    index, dims = {}, {}
    wd_total = sum(dim_weight.values())
    for cyc, reg in groups:
        for basis in ("final", "provisional"):
            total = 0.0
            for d, els in dim_elements.items():
                num = sum(el_weight[e] * acc[(cyc, reg, basis, e)] / el_wsum[e] for e in els)
                score = num / sum(el_weight[e] for e in els)
                dims[(cyc, reg, basis, d)] = score
                total += dim_weight[d] * score
            index[(cyc, reg, basis)] = total / wd_total
    return index, dims


def timed(fn) -> tuple[float, float, object]:
    """(wall-clock seconds, CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def max_difference(result, ref_index: dict, ref_dims: dict) -> tuple[float, float]:
    regions = result.regions
    engine_index = dict(
        zip(
            zip(
                regions["cycle"].tolist(),
                regions["region"].tolist(),
                regions["basis"].tolist(),
                strict=True,
            ),
            regions["index"].tolist(),
            strict=True,
        )
    )
    dims = result.dimensions
    engine_dims = dict(
        zip(
            zip(
                dims["cycle"].tolist(),
                dims["region"].tolist(),
                dims["basis"].tolist(),
                dims["dimension"].tolist(),
                strict=True,
            ),
            dims["score"].tolist(),
            strict=True,
        )
    )
    assert engine_index.keys() == ref_index.keys(), "engine and reference scored other regions"
    assert engine_dims.keys() == ref_dims.keys(), "engine and reference scored other dimensions"
    worst_index = max(abs(engine_index[k] - v) for k, v in ref_index.items())
    worst_dim = max(abs(engine_dims[k] - v) for k, v in ref_dims.items())
    return worst_index, worst_dim


def canonical_order(answers: pd.DataFrame, framework: pd.DataFrame) -> np.ndarray:
    """Row positions that sort the answers as a selector can deliver them: by cycle, region and
    indicator in the framework's (dimension, element, indicator) order, which is its row order
    here."""
    position = pd.Series(np.arange(len(framework)), index=framework["indicator"])
    return np.lexsort(
        (
            position.reindex(answers["indicator"].to_numpy()).to_numpy(),
            answers["region"].cat.codes.to_numpy(),
            answers["cycle"].to_numpy(),
        )
    )


def main() -> None:
    rng = np.random.default_rng(SEED)
    framework = make_framework(rng)
    answers = make_answers(rng, framework)
    cluster, targets, previous = make_extras(rng, framework, answers)
    answers_cat = answers.astype(dict.fromkeys(CODE_COLUMNS, "category"))
    order = canonical_order(answers_cat, framework)
    n = len(answers)
    print(
        f"workload: {n} answers = {N_REGIONS} regions x {N_INDICATORS} indicators x "
        f"{N_CYCLES} cycles; {framework['dimension'].nunique()} dimensions, "
        f"{framework['element'].nunique()} elements, {answers['agency'].nunique()} agency "
        f"slugs, {answers.groupby('region')['agency'].nunique().sum()} (region, agency) pairs"
    )

    def engine(frame: pd.DataFrame):
        return lambda: compute(
            frame, framework, cluster=cluster, targets=targets, previous=previous
        )

    variants = {
        "category code columns, rows shuffled": answers_cat,
        "category code columns, rows in canonical order": answers_cat.iloc[order],
        "str code columns, rows shuffled": answers,
        "str code columns, rows in canonical order": answers.iloc[order],
    }
    headline = next(iter(variants))
    engine(answers_cat)()  # warm-up: imports, first-touch allocations
    # Rounds interleave the reference and the engine, so that a busy machine slows both alike
    # and the ratio stays fair.
    wall: dict[str, list[float]] = {name: [] for name in [*variants, "reference"]}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    results = {}
    for _ in range(ROUNDS):
        seconds, cpu_seconds, (ref_index, ref_dims) = timed(lambda: reference(answers, framework))
        wall["reference"].append(seconds)
        cpu["reference"].append(cpu_seconds)
        for name, frame in variants.items():
            for _ in range(ENGINE_RUNS_PER_ROUND):
                seconds, cpu_seconds, results[name] = timed(engine(frame))
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
    median = {name: statistics.median(values) for name, values in wall.items()}
    # the first run of each round comes right after the reference, in memory and caches it
    # left cold: slower than the runs after it
    cold = statistics.median(wall[headline][::ENGINE_RUNS_PER_ROUND])
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    reference_s, reference_cpu = median["reference"], median_cpu["reference"]
    engine_runs = ROUNDS * ENGINE_RUNS_PER_ROUND

    tracemalloc.start()
    engine(answers_cat)()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 2**20

    result = results[headline]
    worst_index, worst_dim = max_difference(result, ref_index, ref_dims)
    assert worst_index <= TOLERANCE and worst_dim <= TOLERANCE, (worst_index, worst_dim)
    canonical = result.to_json()
    for name in variants:
        assert results[name].to_json() == canonical, f"{name} changed the result"

    print("tables: " + ", ".join(f"{t}={len(getattr(result, t))}" for t in TABLES))
    print(
        f"agreement: max |engine - reference| index={worst_index:.1e} dimension={worst_dim:.1e} "
        f"over {len(ref_index)} indices and {len(ref_dims)} dimension scores "
        f"(tolerance {TOLERANCE:g}); the four engine inputs give byte-identical JSON"
    )
    print(
        f"engine, full compute() with all 7 tables (median of {engine_runs}; wall-clock, and "
        "the ratio of CPU seconds in brackets):"
    )
    for name in variants:
        seconds = median[name]
        print(
            f"  {name:<46} {seconds:6.3f} s  {n / seconds / 1e6:5.2f} M answers/s  "
            f"{reference_s / seconds:5.1f}x the reference  "
            f"({reference_cpu / median_cpu[name]:.1f}x in CPU time)"
        )
    print(
        f"  {'(headline, first run after each reference run)':<46} {cold:6.3f} s  "
        f"{n / cold / 1e6:5.2f} M answers/s  {reference_s / cold:5.1f}x the reference  "
        f"(median of {ROUNDS})"
    )
    print(
        f"  {'reference: plain Python, str columns, shuffled':<46} {reference_s:6.3f} s  "
        f"(median of {ROUNDS}, {reference_cpu:.3f} s CPU; element, dimension and region "
        "scores only)"
    )
    print(
        f"peak memory: {peak_mb:.1f} MB = tracemalloc peak of the allocations made during one "
        "compute() (category inputs, rows shuffled; the inputs themselves excluded)"
    )
    print(
        f"bench: scoring: answers={n} engine_s={median[headline]:.3f} "
        f"reference_s={reference_s:.3f} ratio={reference_s / median[headline]:.1f} "
        f"peak_mb={peak_mb:.1f} cpu_ratio={reference_cpu / median_cpu[headline]:.1f}"
    )


if __name__ == "__main__":
    main()

"""Scoring engine: maturity scores of the smart-province assessment (domain.md §3-§4).

Pure computation (architecture rule 5): DataFrames in, a :class:`ScoringResult` of DataFrames
out. No Django, no ORM, no I/O, no clock, no randomness. Selectors load the inputs, services
store the result. docs/scoring.md has the formulas and the reasoning behind them.

Inputs
------
``framework``  one row per indicator: ``dimension``, ``element``, ``indicator`` (codes),
               ``w_dimension``, ``w_element``, ``w_indicator`` (positive, finite). Weights are
               normalised within their parent, so only ratios matter. ``w_dimension`` must be
               equal on every row of a dimension, ``w_element`` on every row of an element; an
               element code belongs to exactly one dimension; indicator codes are unique.
``answers``    one row per answer slot: ``cycle``, ``region``, ``indicator``, ``agency`` (owner
               slug; a missing owner is reported as agency ``""``), ``self_level`` and
               ``final_level`` (1-5, NaN when not answered / not verified). At most one row per
               (cycle, region, indicator). Every framework indicator applies to every (cycle,
               region) present; an indicator without a row counts as unanswered.
``cluster``    optional ``cycle``, ``region``: Semarang Raya members per cycle. Members without
               answers in that cycle, and cycles absent from answers, are ignored (cycle values
               must have the same type as in answers).
``targets``    optional ``region``, ``element``, ``target_level``: master-plan targets, applied
               to every cycle of the region. Regions absent from answers are ignored; unknown
               elements are an error.
``previous``   optional ScoringResult holding exactly one earlier cycle of the same framework
               lineage; matched by region code and dimension code.

Code columns may be str, int or pandas Categorical. Two things make large inputs cheaper, and
neither changes a result: categoricals (a selector builds them from foreign-key ids with
``pd.Categorical.from_codes``) skip the hashing of strings, and rows that arrive complete and in
canonical order (cycle, region, then the framework's dimension, element, indicator codes) skip
the scatter into the dense layout.

Bases
-----
Every table has a ``basis`` column: ``"final"`` (final levels: what is published) and
``"provisional"`` (self-assessed levels), always both, side by side.

Output tables: columns in this order; rows sorted by the label columns in this order, so basis
first (a table is its final rows, then its provisional rows)
------------------------------------------------------------------------------------------
``elements``    basis, cycle, region, dimension, element, score, level, answered, total,
                completeness
``dimensions``  basis, cycle, region, dimension, score, score_rounded, level, predicate,
                answered, total, completeness
``regions``     basis, cycle, region, index, index_rounded, level, predicate, answered, total,
                completeness
``agencies``    basis, cycle, region, agency, dimension, score, answered, total, completeness.
                score = weighted mean of the slots the agency owns in the dimension, weighted by
                each indicator's effective weight within the dimension; an unanswered owned slot
                counts 0. answered/total count owned slots.
``cluster``     basis, cycle, dimension, score, score_rounded, level, predicate, regions.
                dimension ``""`` is the overall index row; score = plain mean over the members
                scored in that cycle; regions = their number.
``gaps``        basis, cycle, region, dimension, element, target_level, score, gap
                (gap = target_level - score; both bases)
``changes``     basis, cycle, region, dimension, previous_cycle, score, previous_score, change.
                dimension ``""`` is the region index row; change = score - previous_score; only
                regions and dimensions present in both results.

Column meaning: ``score``/``index`` are full-precision floats in [0, 5]; ``level`` =
floor(score) guarded against float error (0 = below level 1); ``*_rounded`` = the published
figure, 2 decimals, half up; ``predicate`` (a code, the UI translates) is read from the rounded
figure; ``answered`` counts answered indicators (plain count, not weighted), ``total`` the
indicators of the aggregate, ``completeness`` = answered / total.

dtypes: the label columns (basis, cycle, region, dimension, element, agency, predicate,
previous_cycle) are pandas Categoricals whose categories are the sorted codes (predicate: from
kurang to memuaskan; categories may include codes of a categorical input that no row uses);
level, answered, total and regions are int64; the rest float64.

Determinism: every sum runs over a canonical dense (group x indicator) layout, never in input
row order, so the same inputs in any row order give bit-identical floats, and a region's figures
do not depend on which other regions are computed with it. Bump ``ENGINE_VERSION`` on any
change that can change a result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

ENGINE_VERSION = "1.0.0"

BASES: tuple[str, ...] = ("final", "provisional")  # sorted: row order of every table
_LEVEL_COLUMN = {"final": "final_level", "provisional": "self_level"}

#: Predicate codes from lowest to highest band; the UI translates them.
PREDICATES: tuple[str, ...] = ("kurang", "cukup", "baik", "sangat_baik", "memuaskan")
#: Lower bounds of cukup, baik, sangat_baik, memuaskan in hundredths (SPBE bands on 0-5).
_PREDICATE_LOWER_CENTS = np.array([180, 260, 350, 420], dtype=np.int64)

MAX_LEVEL = 5.0
_TIE_NUDGE = 1e-9  # 2.595 is stored as 2.5949999...; the nudge lets half-up see the tie
_LEVEL_GUARD_DECIMALS = 9  # 2.9999999999999996 out of a float sum is level 3, not 2

FRAMEWORK_COLUMNS = (
    "dimension", "element", "indicator", "w_dimension", "w_element", "w_indicator",
)  # fmt: skip
ANSWER_COLUMNS = ("cycle", "region", "indicator", "agency", "self_level", "final_level")
CLUSTER_COLUMNS = ("cycle", "region")
TARGET_COLUMNS = ("region", "element", "target_level")

TABLES: tuple[str, ...] = (
    "elements", "dimensions", "regions", "agencies", "cluster", "gaps", "changes",
)  # fmt: skip
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "elements": (
        "basis", "cycle", "region", "dimension", "element",
        "score", "level", "answered", "total", "completeness",
    ),
    "dimensions": (
        "basis", "cycle", "region", "dimension", "score", "score_rounded", "level",
        "predicate", "answered", "total", "completeness",
    ),
    "regions": (
        "basis", "cycle", "region", "index", "index_rounded", "level", "predicate",
        "answered", "total", "completeness",
    ),
    "agencies": (
        "basis", "cycle", "region", "agency", "dimension",
        "score", "answered", "total", "completeness",
    ),
    "cluster": (
        "basis", "cycle", "dimension", "score", "score_rounded", "level", "predicate", "regions",
    ),
    "gaps": (
        "basis", "cycle", "region", "dimension", "element", "target_level", "score", "gap",
    ),
    "changes": (
        "basis", "cycle", "region", "dimension", "previous_cycle",
        "score", "previous_score", "change",
    ),
}  # fmt: skip
_INT_COLUMNS = frozenset({"level", "answered", "total", "regions"})
_FLOAT_COLUMNS = frozenset({
    "score", "score_rounded", "index", "index_rounded", "completeness",
    "target_level", "gap", "previous_score", "change",
})  # fmt: skip

_BASIS_DTYPE = pd.CategoricalDtype(pd.Index(list(BASES)))
_PREDICATE_DTYPE = pd.CategoricalDtype(pd.Index(list(PREDICATES)))


# --------------------------------------------------------------------------------------------
# Published figure, level, predicate
# --------------------------------------------------------------------------------------------


def _cents(score: Any) -> np.ndarray:
    """Score in hundredths, rounded half up on the decimal value (2.595 -> 260)."""
    scaled = np.asarray(score, dtype=np.float64) * 100.0 + (0.5 + _TIE_NUDGE)
    return np.floor(scaled).astype(np.int64)


def round_published(score: Any) -> Any:
    """The published figure: 2 decimals, half up (2.595 -> 2.6, 1.795 -> 1.8)."""
    rounded = _cents(score) / 100.0
    return float(rounded) if np.ndim(rounded) == 0 else rounded


def maturity_level(score: Any) -> Any:
    """floor(score), guarded so that 2.9999999999999996 is 3; 0 means below level 1."""
    guarded = np.round(np.asarray(score, dtype=np.float64), _LEVEL_GUARD_DECIMALS)
    level = np.floor(guarded).astype(np.int64)
    return int(level) if np.ndim(level) == 0 else level


def _predicate_band(score_rounded: Any) -> np.ndarray:
    """Index into PREDICATES of each (rounded) score."""
    return np.searchsorted(_PREDICATE_LOWER_CENTS, _cents(score_rounded), side="right")


def predicate(score_rounded: float) -> str:
    """Predicate code of a published (2-decimal) figure: memuaskan 4.2-5.0, sangat_baik
    3.5-<4.2, baik 2.6-<3.5, cukup 1.8-<2.6, kurang <1.8. An unrounded score is rounded half
    up first, which is what publishing does anyway (2.596 -> 2.60 -> baik)."""
    value = float(score_rounded)
    if not np.isfinite(value):
        raise ValueError(f"predicate of a non-finite score: {score_rounded!r}")
    return PREDICATES[int(_predicate_band(value))]


# --------------------------------------------------------------------------------------------
# Encoding: integer codes whose order is the sorted order of the values
# --------------------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")


def _raw_values(series: pd.Series) -> np.ndarray:
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        # the object view of str data is free and factorizes faster than the string dtype
        return series.to_numpy(dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        kind = series.dtype.categories.dtype.kind
        return series.to_numpy() if kind in "iuf" else series.to_numpy(dtype=object)
    return series.to_numpy()


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) in any order; code -1 marks a missing value. Categoricals keep their
    codes (uniques may include unused categories) and skip hashing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.dtype.categories
        numeric = categories.dtype.kind in "iuf"
        uniques = categories.to_numpy() if numeric else categories.to_numpy(dtype=object)
        return series.cat.codes.to_numpy(), uniques
    codes, uniques = pd.factorize(_raw_values(series))
    return codes, np.asarray(uniques)


def _rank(uniques: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(sorted uniques, rank of each original unique, or None when already sorted)."""
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError as exc:
        raise ValueError(f"{what} mixes value types that cannot be ordered") from exc
    if (order == np.arange(len(order))).all():
        return uniques, None
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return uniques[order], rank


def _encode(
    series: pd.Series, what: str, *, missing: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels): integer codes into ``labels``, the sorted distinct values.

    Missing values are an error unless ``missing`` names the value that stands for them.
    """
    numpy_int = isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu"
    if numpy_int and len(series):  # e.g. cycle ids: no hashing needed
        values = series.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + (1 << 16):
            inverse, offsets, _ = _compact(values.astype(np.int64) - low, high - low + 1)
            return inverse, (offsets + low).astype(values.dtype)
    codes, uniques = _factorize(series)
    if len(codes) and codes.min() < 0:
        if missing is None:
            raise ValueError(f"{what} has missing values")
        hit = np.flatnonzero(uniques == missing) if uniques.dtype == object else []
        if len(hit):
            fill = int(hit[0])
        else:
            uniques = np.append(uniques.astype(object), missing)
            fill = len(uniques) - 1
        codes = np.where(codes < 0, fill, codes)
    labels, rank = _rank(uniques, what)
    return (codes if rank is None else rank[codes]), labels


def _compact(keys: np.ndarray, key_range: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inverse, sorted unique keys, lookup) of non-negative integer keys below ``key_range``;
    ``lookup[k]`` is the position of key k among the uniques (meaningless when k is absent)."""
    if key_range > 16 * len(keys) + (1 << 22):
        codes, uniques = pd.factorize(keys)
        uniques, rank = _rank(np.asarray(uniques), "keys")
        inverse = codes if rank is None else rank[codes]
        return inverse, uniques, None  # type: ignore[return-value]
    counts = np.bincount(keys, minlength=key_range)
    uniques = np.flatnonzero(counts)
    if len(uniques) == key_range:  # every key present: the keys are their own positions
        return keys, uniques, uniques
    lookup = np.zeros(key_range, dtype=np.int64)  # calloc: untouched pages cost nothing
    lookup[uniques] = np.arange(len(uniques))
    return lookup[keys], uniques, lookup


def _levels(series: pd.Series, what: str) -> np.ndarray:
    try:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric") from exc
    if len(values):
        low, high = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN = unanswered: skipped
        if low < 1.0 or high > MAX_LEVEL or np.isinf(high) or np.isinf(low):
            bad = (values < 1.0) | (values > MAX_LEVEL)
            raise ValueError(f"{what} outside 1-5: {values[bad][:5].tolist()}")
    return values


def _weights(series: pd.Series, what: str) -> np.ndarray:
    try:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric") from exc
    if not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(f"{what} must be positive and finite")
    return values


def _dtype_of(labels: np.ndarray) -> pd.CategoricalDtype:
    """Categorical dtype of a label column: its categories are the sorted labels."""
    return pd.CategoricalDtype(pd.Index(labels))


def _categorical(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


# --------------------------------------------------------------------------------------------
# Framework
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Framework:
    """The framework in canonical order: indicators sorted by (dimension, element, indicator),
    elements by (dimension, element)."""

    indicators: np.ndarray  # labels, canonical order
    indicator_index: pd.Index
    elements: np.ndarray  # labels, canonical order
    element_index: pd.Index
    dimensions: np.ndarray  # labels, sorted
    dimension_index: pd.Index
    element_dimension: np.ndarray  # dimension position of each element
    indicator_dimension: np.ndarray  # dimension position of each indicator
    element_starts: np.ndarray  # first indicator of each element
    dimension_starts: np.ndarray  # first element of each dimension
    w_indicator: np.ndarray
    w_indicator_sum: np.ndarray  # per element
    w_element: np.ndarray  # per element
    w_element_sum: np.ndarray  # per dimension
    w_dimension: np.ndarray  # per dimension
    w_dimension_sum: float
    w_in_dimension: np.ndarray  # effective weight of each indicator within its dimension
    indicators_per_element: np.ndarray
    indicators_per_dimension: np.ndarray
    element_dtype: pd.CategoricalDtype
    dimension_dtype: pd.CategoricalDtype
    overall_dtype: pd.CategoricalDtype  # "" (the overall row) then the dimensions


def _prepare_framework(framework: pd.DataFrame) -> _Framework:
    _require_columns(framework, FRAMEWORK_COLUMNS, "framework")
    if len(framework) == 0:
        raise ValueError("framework has no indicators")
    dim, dim_labels = _encode(framework["dimension"], "framework.dimension")
    el, el_labels = _encode(framework["element"], "framework.element")
    ind, ind_labels = _encode(framework["indicator"], "framework.indicator")
    if len(np.unique(ind)) != len(framework):
        counts = np.bincount(ind, minlength=len(ind_labels))
        raise ValueError(f"framework repeats indicator(s) {ind_labels[counts > 1][:5].tolist()}")
    w_dim = _weights(framework["w_dimension"], "framework.w_dimension")
    w_el = _weights(framework["w_element"], "framework.w_element")
    w_ind = _weights(framework["w_indicator"], "framework.w_indicator")

    # a categorical input may carry unused categories: number only the dimensions in use
    used_dims, dim = np.unique(dim, return_inverse=True)
    dim, dim_labels = dim.reshape(-1), dim_labels[used_dims]
    order = np.lexsort((ind, el, dim))
    dim, el, ind = dim[order], el[order], ind[order]
    w_dim, w_el, w_ind = w_dim[order], w_el[order], w_ind[order]

    dim_of_el = np.full(len(el_labels), -1, dtype=np.int64)
    dim_of_el[el] = dim
    if (dim_of_el[el] != dim).any():
        split = np.unique(el[dim_of_el[el] != dim])
        raise ValueError(f"element(s) {el_labels[split][:5].tolist()} belong to two dimensions")

    element_start = np.r_[True, el[1:] != el[:-1]]
    element_starts = np.flatnonzero(element_start)
    indicator_element = np.cumsum(element_start) - 1
    element_dimension = dim[element_starts]
    dimension_starts = np.flatnonzero(np.r_[True, element_dimension[1:] != element_dimension[:-1]])

    w_element = w_el[element_starts]
    if (w_el != w_element[indicator_element]).any():
        raise ValueError("framework.w_element differs between rows of one element")
    w_dimension = w_dim[element_starts][dimension_starts]
    if (w_dim != w_dimension[dim]).any():
        raise ValueError("framework.w_dimension differs between rows of one dimension")

    w_indicator_sum = np.add.reduceat(w_ind, element_starts)
    w_element_sum = np.add.reduceat(w_element, dimension_starts)
    w_in_dimension = (w_ind / w_indicator_sum[indicator_element]) * (
        w_element[indicator_element] / w_element_sum[dim]
    )
    indicators = ind_labels[ind]
    elements = el_labels[el[element_starts]]
    overall = np.r_[np.array([""], dtype=object), dim_labels.astype(object)]
    return _Framework(
        indicators=indicators,
        indicator_index=pd.Index(indicators),
        elements=elements,
        element_index=pd.Index(elements),
        dimensions=dim_labels,
        dimension_index=pd.Index(dim_labels),
        element_dimension=element_dimension,
        indicator_dimension=dim,
        element_starts=element_starts,
        dimension_starts=dimension_starts,
        w_indicator=w_ind,
        w_indicator_sum=w_indicator_sum,
        w_element=w_element,
        w_element_sum=w_element_sum,
        w_dimension=w_dimension,
        w_dimension_sum=float(w_dimension.sum()),
        w_in_dimension=w_in_dimension,
        indicators_per_element=np.diff(np.r_[element_starts, len(ind)]),
        indicators_per_dimension=np.bincount(dim, minlength=len(dim_labels)),
        element_dtype=pd.CategoricalDtype(pd.Index(elements)),
        dimension_dtype=pd.CategoricalDtype(pd.Index(dim_labels)),
        overall_dtype=pd.CategoricalDtype(pd.Index(overall)),
    )


def _empty_table(name: str) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for column in TABLE_COLUMNS[name]:
        if column in _INT_COLUMNS:
            data[column] = np.zeros(0, dtype=np.int64)
        elif column in _FLOAT_COLUMNS:
            data[column] = np.zeros(0, dtype=np.float64)
        elif column == "basis":
            data[column] = pd.Categorical([], dtype=_BASIS_DTYPE)
        elif column == "predicate":
            data[column] = pd.Categorical([], dtype=_PREDICATE_DTYPE)
        else:
            data[column] = pd.Categorical([])
    return pd.DataFrame(data)


def _json_list(series: pd.Series) -> list[Any]:
    if series.dtype.kind == "f":
        values = series.to_numpy(dtype=np.float64)
        out = values.tolist()
        if np.isnan(values).any():
            out = [None if v != v else v for v in out]
        return out
    if series.dtype.kind in "iub":
        return series.to_numpy().tolist()
    if isinstance(series.dtype, pd.CategoricalDtype):  # convert each category once
        categories = [_json_scalar(v) for v in series.cat.categories.to_numpy(dtype=object)]
        lookup = np.array([*categories, None], dtype=object)  # code -1 (missing) -> None
        return lookup.take(series.cat.codes.to_numpy()).tolist()
    return [_json_scalar(v) for v in series.to_numpy(dtype=object).tolist()]


def _json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, np.generic):
        return _json_scalar(value.item())
    return str(value)


@dataclass(frozen=True, eq=False)
class ScoringResult:
    """Scores of one framework over one or more (cycle, region) assessments, both bases.

    The tables are documented in the module docstring and in docs/scoring.md. Treat them as
    read-only: a result is a value, stored as an immutable snapshot.
    """

    elements: pd.DataFrame
    dimensions: pd.DataFrame
    regions: pd.DataFrame
    agencies: pd.DataFrame
    cluster: pd.DataFrame
    gaps: pd.DataFrame
    changes: pd.DataFrame
    engine_version: str = field(default=ENGINE_VERSION)

    TABLES: ClassVar[tuple[str, ...]] = TABLES

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable and column-oriented: ``{"engine_version", "tables": {name:
        {"columns": [...], "data": {column: [values]}}}}``. ``json.dumps(sort_keys=True)`` of it
        is byte-identical for the same inputs in any row order."""
        tables = {}
        for name in TABLES:
            frame: pd.DataFrame = getattr(self, name)
            tables[name] = {
                "columns": [str(c) for c in frame.columns],
                "data": {str(c): _json_list(frame[c]) for c in frame.columns},
            }
        return {"engine_version": self.engine_version, "tables": tables}

    def to_json(self) -> str:
        """Compact canonical JSON of :meth:`to_dict` (sorted keys, no NaN)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def region_summary(self, region: Any, cycle: Any, basis: str = "final") -> dict[str, Any]:
        """Nested summary of one region in one cycle: index, predicate, completeness and the
        dimensions with their elements. KeyError when that region was not scored."""

        def rows(frame: pd.DataFrame) -> pd.DataFrame:
            mask = (frame["region"] == region) & (frame["cycle"] == cycle)
            return frame[mask & (frame["basis"] == basis)]

        head = rows(self.regions)
        if len(head) != 1:
            raise KeyError((region, cycle, basis))
        top = head.iloc[0]
        elements = rows(self.elements)
        dimensions = []
        for dim in rows(self.dimensions).itertuples(index=False):
            members = elements[elements["dimension"] == dim.dimension]
            dimensions.append({
                "code": _json_scalar(dim.dimension),
                "score": float(dim.score),
                "score_rounded": float(dim.score_rounded),
                "level": int(dim.level),
                "predicate": str(dim.predicate),
                "completeness": float(dim.completeness),
                "elements": [
                    {
                        "code": _json_scalar(e.element),
                        "score": float(e.score),
                        "level": int(e.level),
                        "completeness": float(e.completeness),
                    }
                    for e in members.itertuples(index=False)
                ],
            })  # fmt: skip
        return {
            "cycle": _json_scalar(top["cycle"]),
            "region": _json_scalar(top["region"]),
            "basis": basis,
            "index": float(top["index"]),
            "index_rounded": float(top["index_rounded"]),
            "level": int(top["level"]),
            "predicate": str(top["predicate"]),
            "answered": int(top["answered"]),
            "total": int(top["total"]),
            "completeness": float(top["completeness"]),
            "dimensions": dimensions,
        }


# --------------------------------------------------------------------------------------------
# compute
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Groups:
    """The (cycle, region) pairs present in answers, sorted, and their labels."""

    cycle_labels: np.ndarray
    region_labels: np.ndarray
    cycle_dtype: pd.CategoricalDtype
    region_dtype: pd.CategoricalDtype
    cycle: np.ndarray  # cycle code of each group
    region: np.ndarray  # region code of each group
    keys: np.ndarray  # cycle code * len(region_labels) + region code of each group
    lookup: np.ndarray | None  # key -> group (meaningless for other keys); None: search keys

    @property
    def n(self) -> int:
        return len(self.cycle)

    def position(self, key: np.ndarray) -> np.ndarray:
        """Group of each key that is a group's key."""
        if self.lookup is None:  # keys were hashed: their range was too wide for a table
            return np.searchsorted(self.keys, key)
        return self.lookup[key]

    def find(self, cycle: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Group of each (cycle code, region code), -1 when absent or a code is -1."""
        known = (cycle >= 0) & (region >= 0)
        key = np.where(known, cycle * len(self.region_labels) + region, 0)
        group = np.minimum(self.position(key), max(self.n - 1, 0))
        return np.where(known & (self.keys[group] == key), group, -1)

    def columns(self, group: np.ndarray) -> dict[str, Any]:
        return {
            "cycle": _categorical(self.cycle[group], self.cycle_dtype),
            "region": _categorical(self.region[group], self.region_dtype),
        }


def _frame(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(data, copy=False)  # no consolidation copy of the columns


def _both(per_basis: list[np.ndarray]) -> np.ndarray:
    """Per-basis arrays -> one column in the (basis, ...) row order of every table."""
    return np.concatenate([np.ravel(x) for x in per_basis])


def _basis_column(rows_per_basis: int) -> pd.Categorical:
    codes = np.repeat(np.arange(len(BASES), dtype=np.int8), rows_per_basis)
    return _categorical(codes, _BASIS_DTYPE)


def compute(
    answers: pd.DataFrame,
    framework: pd.DataFrame,
    *,
    cluster: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
    previous: ScoringResult | None = None,
) -> ScoringResult:
    """Score every (cycle, region) present in ``answers`` against ``framework``."""
    fw = _prepare_framework(framework)
    _require_columns(answers, ANSWER_COLUMNS, "answers")
    dense = _densify(answers, fw)
    groups = dense.groups

    parts = [_aggregate(fw, dense.scores[b], dense.missing[b]) for b in range(len(BASES))]
    el_score, el_answered, dim_score, dim_answered, index = map(list, zip(*parts, strict=True))
    elements = _element_table(fw, groups, el_score, el_answered)
    dimensions = _dimension_table(fw, groups, dim_score, dim_answered)
    regions = _region_table(fw, groups, index, dim_answered)
    agencies = _agency_table(fw, dense)
    cluster_table = _cluster_table(cluster, fw, groups, dim_score, index)
    gaps = _gap_table(targets, fw, groups, elements)
    changes = _change_table(previous, fw, groups, dim_score, index)
    return ScoringResult(
        elements=elements,
        dimensions=dimensions,
        regions=regions,
        agencies=agencies,
        cluster=cluster_table,
        gaps=gaps,
        changes=changes,
    )


@dataclass(frozen=True, eq=False)
class _Dense:
    """Answers laid out densely: one row per group, one column per indicator (canonical
    order). Every sum runs over this layout, never in input row order."""

    groups: _Groups
    owner: np.ndarray  # (group, indicator) agency code (intp), -1 where no answer row
    full: bool  # every (group, indicator) has an answer row
    agency_labels: np.ndarray
    scores: list[np.ndarray]  # per basis, (group, indicator) level, unanswered = 0
    missing: list[np.ndarray]  # per basis, (group, indicator) True where unanswered


def _densify(answers: pd.DataFrame, fw: _Framework) -> _Dense:
    n_ind = len(fw.indicators)
    cycle, cycle_labels = _encode(answers["cycle"], "answers.cycle")
    region, region_labels = _encode(answers["region"], "answers.region")
    ind_codes, ind_uniques = _factorize(answers["indicator"])
    if len(ind_codes) and ind_codes.min() < 0:
        raise ValueError("answers.indicator has missing values")
    ind_pos = fw.indicator_index.get_indexer(ind_uniques)
    if (ind_pos < 0).any():
        used = np.zeros(len(ind_uniques), dtype=bool)
        used[ind_codes] = True
        if (ind_pos[used] < 0).any():
            unknown = ind_uniques[(ind_pos < 0) & used][:5].tolist()
            raise ValueError(f"answers name indicator(s) not in the framework: {unknown}")
    n_reg = len(region_labels)
    key = cycle.astype(np.int64)  # a fresh buffer, worked in place: rows are many
    key *= n_reg
    key += region
    del cycle, region
    cell, group_keys, lookup = _compact(key, len(cycle_labels) * n_reg)
    del key
    groups = _Groups(
        cycle_labels=cycle_labels,
        region_labels=region_labels,
        cycle_dtype=_dtype_of(cycle_labels),
        region_dtype=_dtype_of(region_labels),
        cycle=group_keys // max(n_reg, 1),
        region=group_keys % max(n_reg, 1),
        keys=group_keys,
        lookup=lookup,
    )
    cell *= n_ind  # our own buffer: the group of each row becomes its dense cell
    cell += np.take(ind_pos, ind_codes)
    del ind_codes
    n_cells = groups.n * n_ind
    # rows already in canonical order (cycle, region, dimension, element, indicator) and
    # complete, as a selector can deliver them, need no scatter: the columns are the layout
    in_order = len(cell) == n_cells and bool((cell == np.arange(n_cells)).all())

    agency, agency_labels = _encode(answers["agency"], "answers.agency", missing="")
    if in_order:
        owner = agency.astype(np.intp)
    else:
        owner = np.full(n_cells, -1, dtype=np.intp)
        owner[cell] = agency
    del agency
    n_filled = n_cells if in_order else int(np.count_nonzero(owner >= 0))
    if n_filled != len(answers):
        _raise_duplicate(cell, n_cells, groups, fw)

    scores: list[np.ndarray] = []
    missing: list[np.ndarray] = []
    for basis in BASES:
        column = _LEVEL_COLUMN[basis]
        levels = _levels(answers[column], f"answers.{column}")
        if in_order:
            dense = levels.copy()
        else:
            dense = np.full(n_cells, np.nan)
            dense[cell] = levels
        unanswered = np.isnan(dense)
        np.copyto(dense, 0.0, where=unanswered)
        scores.append(dense.reshape(groups.n, n_ind))
        missing.append(unanswered.reshape(groups.n, n_ind))
    return _Dense(
        groups=groups,
        owner=owner.reshape(groups.n, n_ind),
        full=n_filled == n_cells,
        agency_labels=agency_labels,
        scores=scores,
        missing=missing,
    )


def _small_int(n_values: int) -> type:
    """Smallest signed integer type that holds -1 .. n_values - 1."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_values <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _raise_duplicate(cell: np.ndarray, n_cells: int, groups: _Groups, fw: _Framework) -> None:
    slots = np.bincount(cell, minlength=n_cells)
    gi, ii = divmod(int(np.argmax(slots)), len(fw.indicators))
    raise ValueError(
        "answers repeat (cycle, region, indicator) "
        f"({groups.cycle_labels[groups.cycle[gi]]!r}, "
        f"{groups.region_labels[groups.region[gi]]!r}, {fw.indicators[ii]!r})"
    )


def _aggregate(fw: _Framework, scores: np.ndarray, missing: np.ndarray):
    """Element, dimension and region scores and answered counts of one basis, per group."""
    n_groups = scores.shape[0]
    if n_groups == 0:
        n_el, n_dim = len(fw.elements), len(fw.dimensions)
        return (
            np.zeros((0, n_el)), np.zeros((0, n_el), dtype=np.int64),
            np.zeros((0, n_dim)), np.zeros((0, n_dim), dtype=np.int64), np.zeros(0),
        )  # fmt: skip
    # Each group's row is reduced on its own, in indicator order: its figures do not depend
    # on the other groups. A weighted mean of values <= 5 is <= 5: np.minimum removes an ulp.
    e = np.add.reduceat(scores * fw.w_indicator, fw.element_starts, axis=1)
    e /= fw.w_indicator_sum
    np.minimum(e, MAX_LEVEL, out=e)
    d = np.add.reduceat(e * fw.w_element, fw.dimension_starts, axis=1)
    d /= fw.w_element_sum
    np.minimum(d, MAX_LEVEL, out=d)
    r = (d * fw.w_dimension).sum(axis=1) / fw.w_dimension_sum
    np.minimum(r, MAX_LEVEL, out=r)
    # uint16 sums faster than int64 and holds the count of any real element
    count = np.uint16 if fw.indicators_per_element.max() < 2**16 else np.int64
    unanswered = np.add.reduceat(missing.view(np.uint8), fw.element_starts, axis=1, dtype=count)
    ea = fw.indicators_per_element - unanswered.astype(np.int64)
    da = np.add.reduceat(ea, fw.dimension_starts, axis=1)
    return e, ea, d, da, r


def _element_table(fw: _Framework, groups: _Groups, el_score, el_answered) -> pd.DataFrame:
    n_el = len(fw.elements)
    rows = groups.n * n_el  # per basis
    score = _both(el_score)
    answered = _both(el_answered)
    total = np.tile(fw.indicators_per_element, len(BASES) * groups.n)
    data: dict[str, Any] = {"basis": _basis_column(rows)}
    data.update(groups.columns(np.tile(np.repeat(np.arange(groups.n), n_el), len(BASES))))
    reps = len(BASES) * groups.n
    data["dimension"] = _categorical(np.tile(fw.element_dimension, reps), fw.dimension_dtype)
    data["element"] = _categorical(np.tile(np.arange(n_el), reps), fw.element_dtype)
    data["score"] = score
    data["level"] = maturity_level(score)
    data["answered"] = answered
    data["total"] = total
    data["completeness"] = answered / total
    return _frame(data)


def _dimension_table(fw: _Framework, groups: _Groups, dim_score, dim_answered) -> pd.DataFrame:
    n_dim = len(fw.dimensions)
    score = _both(dim_score)
    rounded = round_published(score)
    answered = _both(dim_answered)
    reps = len(BASES) * groups.n
    total = np.tile(fw.indicators_per_dimension, reps)
    data: dict[str, Any] = {"basis": _basis_column(groups.n * n_dim)}
    data.update(groups.columns(np.tile(np.repeat(np.arange(groups.n), n_dim), len(BASES))))
    data["dimension"] = _categorical(np.tile(np.arange(n_dim), reps), fw.dimension_dtype)
    data["score"] = score
    data["score_rounded"] = rounded
    data["level"] = maturity_level(score)
    data["predicate"] = _categorical(_predicate_band(rounded), _PREDICATE_DTYPE)
    data["answered"] = answered
    data["total"] = total
    data["completeness"] = answered / total
    return _frame(data)


def _region_table(fw: _Framework, groups: _Groups, index, dim_answered) -> pd.DataFrame:
    n_ind = len(fw.indicators)
    score = _both(index)
    rounded = round_published(score)
    answered = _both([a.sum(axis=1) for a in dim_answered])
    data: dict[str, Any] = {"basis": _basis_column(groups.n)}
    data.update(groups.columns(np.tile(np.arange(groups.n), len(BASES))))
    data["index"] = score
    data["index_rounded"] = rounded
    data["level"] = maturity_level(score)
    data["predicate"] = _categorical(_predicate_band(rounded), _PREDICATE_DTYPE)
    data["answered"] = answered
    data["total"] = np.full(len(score), n_ind, dtype=np.int64)
    data["completeness"] = answered / n_ind
    return _frame(data)


def _agency_table(fw: _Framework, dense: _Dense) -> pd.DataFrame:
    """Agency x dimension scores. The sums run over the dense layout, group by group, so they
    never follow input row order (and stay cache-friendly)."""
    groups = dense.groups
    if groups.n == 0:
        return _empty_table("agencies")
    n_dim = len(fw.dimensions)
    n_ag = len(dense.agency_labels)
    n_reg = len(groups.region_labels)
    if dense.full:
        owner = dense.owner  # (group, indicator)
        cell_region = groups.region[:, None]  # broadcast, never materialised
        cell_cycle = groups.cycle[:, None]
        cell_dim = fw.indicator_dimension
        weight = fw.w_in_dimension
        slot = None
    else:
        slot = np.flatnonzero(dense.owner.reshape(-1) >= 0)
        cell_group, cell_ind = np.divmod(slot, len(fw.indicators))
        owner = dense.owner.reshape(-1)[slot]
        cell_region = groups.region[cell_group]
        cell_cycle = groups.cycle[cell_group]
        cell_dim = fw.indicator_dimension[cell_ind]
        weight = fw.w_in_dimension[cell_ind]

    def cells(array: np.ndarray) -> np.ndarray:
        return array.reshape(-1) if slot is None else array.reshape(-1)[slot]

    # Rows are (cycle, region, agency, dimension): number the (region, agency) pairs present
    # in sorted order, then key each cell by (cycle, pair, dimension), a range small enough
    # for bincount. Slugs shared between regions (dinkes in every region) make a small pair
    # table; slugs unique to a region make a large one, but then the agency ranked by
    # (region, slug) is the pair, found without hashing a pass of pairs.
    key = None
    if n_reg * n_ag > owner.size:
        region_of = np.full(n_ag, -1, dtype=np.int64)
        region_of[owner] = cell_region
        if (np.take(region_of, owner) == cell_region).all():
            by_region = np.lexsort((np.arange(n_ag), region_of))
            rank = np.empty(n_ag, dtype=np.int64)
            rank[by_region] = np.arange(n_ag)
            key = np.take(rank, owner)
            pair_region, pair_agency, n_pairs = region_of[by_region], by_region, n_ag
    if key is None:
        pair_key = (cell_region * n_ag + owner).reshape(-1)
        key, pair_keys, _ = _compact(pair_key, n_reg * n_ag)
        pair_region, pair_agency, n_pairs = pair_keys // n_ag, pair_keys % n_ag, len(pair_keys)
    key = key.reshape(owner.shape)
    key *= n_dim
    key += cell_cycle * (n_pairs * n_dim)
    key += cell_dim
    key = key.reshape(-1)
    key_range = len(groups.cycle_labels) * n_pairs * n_dim
    row_keys = None
    if key_range > 4 * len(key) + (1 << 22):  # very many cycles at once: compact the keys
        key, row_keys, _ = _compact(key, key_range)
        key_range = len(row_keys)

    total = np.bincount(key, minlength=key_range)
    buffer = np.empty(owner.shape)
    buffer[...] = weight
    weight_sum = np.bincount(key, weights=buffer.reshape(-1), minlength=key_range)
    sums, unanswered = [], []
    for b in range(len(BASES)):
        np.multiply(cells(dense.scores[b]).reshape(owner.shape), weight, out=buffer)
        sums.append(np.bincount(key, weights=buffer.reshape(-1), minlength=key_range))
        unanswered.append(np.bincount(key[cells(dense.missing[b])], minlength=key_range))
    del buffer
    used = np.flatnonzero(total)
    row_keys = used if row_keys is None else row_keys[used]
    total, weight_sum = total[used], weight_sum[used]
    score_b = [np.minimum(x[used] / weight_sum, MAX_LEVEL) for x in sums]
    answered_b = [total - x[used] for x in unanswered]
    del sums, unanswered

    pair = row_keys // n_dim
    dim_codes = (row_keys - pair * n_dim).astype(_small_int(n_dim))
    cycle_codes = pair // n_pairs
    pair -= cycle_codes * n_pairs
    region_codes = pair_region[pair]
    agency_codes = pair_agency[pair].astype(_small_int(n_ag))
    bases = len(BASES)
    answered_col = _both(answered_b)
    total_col = np.tile(total, bases)
    data: dict[str, Any] = {
        "basis": _basis_column(len(used)),
        "cycle": _categorical(np.tile(cycle_codes, bases), groups.cycle_dtype),
        "region": _categorical(np.tile(region_codes, bases), groups.region_dtype),
        "agency": _categorical(
            np.tile(agency_codes, bases), pd.CategoricalDtype(pd.Index(dense.agency_labels))
        ),
        "dimension": _categorical(np.tile(dim_codes, bases), fw.dimension_dtype),
        "score": _both(score_b),
        "answered": answered_col,
        "total": total_col,
        "completeness": answered_col / total_col,
    }
    return _frame(data)


def _cluster_table(
    cluster: pd.DataFrame | None, fw: _Framework, groups: _Groups, dim_score, index
) -> pd.DataFrame:
    if cluster is None or len(cluster) == 0 or groups.n == 0:
        return _empty_table("cluster")
    _require_columns(cluster, CLUSTER_COLUMNS, "cluster")
    c_cyc = pd.Index(groups.cycle_labels).get_indexer(_raw_values(cluster["cycle"]))
    c_reg = pd.Index(groups.region_labels).get_indexer(_raw_values(cluster["region"]))
    members = np.unique(groups.find(c_cyc, c_reg))  # sorted: by cycle, then region
    members = members[members >= 0]
    if len(members) == 0:
        return _empty_table("cluster")
    m_cyc = groups.cycle[members]
    starts = np.flatnonzero(np.r_[True, m_cyc[1:] != m_cyc[:-1]])
    counts = np.diff(np.r_[starts, len(members)])
    n_cycles = len(starts)
    width = 1 + len(fw.dimensions)  # the overall row first: "" sorts before every code
    per_basis = []
    for b in range(len(BASES)):
        values = np.column_stack([index[b][members], dim_score[b][members]])
        mean = np.add.reduceat(values, starts, axis=0) / counts[:, None]
        per_basis.append(np.minimum(mean, MAX_LEVEL))
    score = _both(per_basis)  # (basis, cycle, dimension)
    rounded = round_published(score)
    cycle_codes = np.tile(np.repeat(m_cyc[starts], width), len(BASES))
    data: dict[str, Any] = {"basis": _basis_column(n_cycles * width)}
    data["cycle"] = _categorical(cycle_codes, groups.cycle_dtype)
    data["dimension"] = _categorical(
        np.tile(np.arange(width), n_cycles * len(BASES)), fw.overall_dtype
    )
    data["score"] = score
    data["score_rounded"] = rounded
    data["level"] = maturity_level(score)
    data["predicate"] = _categorical(_predicate_band(rounded), _PREDICATE_DTYPE)
    data["regions"] = np.tile(np.repeat(counts, width), len(BASES)).astype(np.int64)
    return _frame(data)


def _gap_table(
    targets: pd.DataFrame | None, fw: _Framework, groups: _Groups, elements: pd.DataFrame
) -> pd.DataFrame:
    if targets is None or len(targets) == 0 or groups.n == 0:
        return _empty_table("gaps")
    _require_columns(targets, TARGET_COLUMNS, "targets")
    t_el = fw.element_index.get_indexer(_raw_values(targets["element"]))
    if (t_el < 0).any():
        unknown = _raw_values(targets["element"])[t_el < 0][:5].tolist()
        raise ValueError(f"targets name element(s) not in the framework: {unknown}")
    t_reg = pd.Index(groups.region_labels).get_indexer(_raw_values(targets["region"]))
    level = targets["target_level"].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(level).all():
        raise ValueError("targets.target_level must be finite")
    n_el = len(fw.elements)
    keep = t_reg >= 0
    cell = t_reg[keep] * n_el + t_el[keep]
    if len(np.unique(cell)) != len(cell):
        raise ValueError("targets repeat a (region, element)")
    table = np.full(len(groups.region_labels) * n_el, np.nan)
    table[cell] = level[keep]
    per_group = table.reshape(-1, n_el)[groups.region]  # (group, element)
    target = np.tile(per_group.reshape(-1), len(BASES))  # the elements table's row layout
    rows = np.flatnonzero(~np.isnan(target))
    target = target[rows]
    score = elements["score"].to_numpy()[rows]
    basis, rest = np.divmod(rows, groups.n * n_el)
    group, element = np.divmod(rest, n_el)
    data: dict[str, Any] = {"basis": _categorical(basis.astype(np.int8), _BASIS_DTYPE)}
    data.update(groups.columns(group))
    data["dimension"] = _categorical(fw.element_dimension[element], fw.dimension_dtype)
    data["element"] = _categorical(element, fw.element_dtype)
    data.update(target_level=target, score=score, gap=target - score)
    return _frame(data)


def _change_table(
    previous: ScoringResult | None, fw: _Framework, groups: _Groups, dim_score, index
) -> pd.DataFrame:
    if previous is None or groups.n == 0 or len(previous.regions) == 0:
        return _empty_table("changes")
    prev_cycles = pd.unique(previous.regions["cycle"].to_numpy())
    if len(prev_cycles) != 1:
        raise ValueError("previous must hold exactly one cycle")
    width = 1 + len(fw.dimensions)
    reg_index = pd.Index(groups.region_labels)
    basis_index = pd.Index(list(BASES))
    before = np.full((len(BASES), len(groups.region_labels), width), np.nan)

    def place(frame: pd.DataFrame, values: np.ndarray, slot: np.ndarray) -> None:
        r = reg_index.get_indexer(_raw_values(frame["region"]))
        b = basis_index.get_indexer(_raw_values(frame["basis"]))
        ok = (r >= 0) & (b >= 0) & (slot >= 0)
        before[b[ok], r[ok], slot[ok]] = values[ok]

    prev_regions, prev_dims = previous.regions, previous.dimensions
    place(
        prev_regions,
        prev_regions["index"].to_numpy(dtype=np.float64),
        np.zeros(len(prev_regions), dtype=np.int64),
    )
    dim = fw.dimension_index.get_indexer(_raw_values(prev_dims["dimension"]))
    place(prev_dims, prev_dims["score"].to_numpy(dtype=np.float64), np.where(dim >= 0, dim + 1, -1))

    now = np.stack([np.column_stack([index[b], dim_score[b]]) for b in range(len(BASES))])
    then = before[:, groups.region, :]  # (basis, group, width), like now
    rows = np.flatnonzero(~np.isnan(then.reshape(-1)))
    now, then = now.reshape(-1)[rows], then.reshape(-1)[rows]
    basis = rows // (groups.n * width)
    data: dict[str, Any] = {"basis": _categorical(basis.astype(np.int8), _BASIS_DTYPE)}
    data.update(groups.columns((rows // width) % groups.n))
    data["dimension"] = _categorical(rows % width, fw.overall_dtype)
    prev_labels = np.asarray(prev_cycles)
    data["previous_cycle"] = _categorical(
        np.zeros(len(rows), dtype=np.int8), _dtype_of(prev_labels)
    )
    data.update(score=now, previous_score=then, change=now - then)
    return _frame(data)


# --------------------------------------------------------------------------------------------
# Input hash
# --------------------------------------------------------------------------------------------

_HASH_FORMAT = b"smartprov.scoring.input/1\n"
_HASH_TABLES = (
    ("framework", FRAMEWORK_COLUMNS, frozenset({"w_dimension", "w_element", "w_indicator"})),
    ("answers", ANSWER_COLUMNS, frozenset({"self_level", "final_level"})),
    ("cluster", CLUSTER_COLUMNS, frozenset()),
    ("targets", TARGET_COLUMNS, frozenset({"target_level"})),
)


def _canonical_token(value: Any, numeric: bool) -> str:
    if value is None or (isinstance(value, float | np.floating) and value != value):
        return "null"
    if numeric:
        return "f" + repr(float(value))
    if isinstance(value, str):
        return "s" + json.encoder.encode_basestring_ascii(value)  # escapes \t and \n
    if isinstance(value, bool | np.bool_):
        return "b" + str(bool(value))
    if isinstance(value, int | np.integer):
        return "i" + str(int(value))
    if isinstance(value, float | np.floating):
        return "f" + repr(float(value))
    return "o" + json.encoder.encode_basestring_ascii(str(value))


def _canonical_column(series: pd.Series, numeric: bool) -> tuple[np.ndarray, list[str]]:
    """Codes ranked by token, and the sorted distinct tokens, of one column."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan) if numeric else _raw_values(series)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    tokens = np.array([_canonical_token(v, numeric) for v in uniques], dtype=object)
    distinct, inverse = np.unique(tokens, return_inverse=True)
    return inverse.reshape(-1)[codes].astype(np.int64), distinct.tolist()


def input_hash(
    answers: pd.DataFrame,
    framework: pd.DataFrame,
    cluster: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
) -> str:
    """sha256 hex of a canonical serialisation of the columns the engine reads.

    Independent of row order, column order and extra columns. Numeric columns are compared as
    float64 (level 3 and 3.0 hash alike); code columns by type and value (cycle 2024 and
    "2024" differ, as they do in the result). An absent optional table hashes like an empty
    one: both give the same result.
    """
    digest = hashlib.sha256(_HASH_FORMAT)
    frames = {"framework": framework, "answers": answers, "cluster": cluster, "targets": targets}
    for name, columns, numeric_columns in _HASH_TABLES:
        frame = frames[name]
        n_rows = 0 if frame is None else len(frame)
        digest.update(f"table\t{name}\t{n_rows}\n".encode())
        if frame is None or n_rows == 0:
            continue
        _require_columns(frame, columns, name)
        codes = []
        for column in columns:
            col_codes, tokens = _canonical_column(frame[column], column in numeric_columns)
            digest.update(f"column\t{column}\t{len(tokens)}\n".encode())
            digest.update("\n".join(tokens).encode("ascii"))
            digest.update(b"\n")
            codes.append(col_codes)
        order = np.lexsort(codes[::-1])  # rows sorted on every column: row order cannot matter
        for col_codes in codes:
            digest.update(col_codes[order].astype("<i8").tobytes())
    return digest.hexdigest()

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
    # np.round(score, 9), worked in one buffer: the same multiply, rint and divide it does
    scale = 10.0**_LEVEL_GUARD_DECIMALS
    values = np.asarray(score, dtype=np.float64)
    guarded = np.multiply(values, scale, out=np.empty(values.shape))
    np.rint(guarded, out=guarded)
    np.divide(guarded, scale, out=guarded)
    level = np.floor(guarded, out=guarded).astype(np.int64)
    return int(level) if level.ndim == 0 else level


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
    int_range = _small_int_range(series)
    if int_range is not None:  # e.g. cycle ids: no hashing needed
        values, low, span = int_range
        inverse, offsets, _ = _compact(np.subtract(values, low, dtype=np.int64), span)
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


def _small_int_range(series: pd.Series) -> tuple[np.ndarray, int, int] | None:
    """(values, lowest value, span) of a numpy integer column whose values lie in a range
    small enough to count in, else None."""
    if not (isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu") or not len(series):
        return None
    values = series.to_numpy()
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    return (values, low, span) if span <= 4 * len(values) + (1 << 16) else None


def _compact(keys: np.ndarray, key_range: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inverse, sorted unique keys, lookup) of non-negative integer keys below ``key_range``;
    ``lookup[k]`` is the position of key k among the uniques (meaningless when k is absent)."""
    if key_range > 16 * len(keys) + (1 << 22):
        codes, uniques = pd.factorize(keys)
        uniques, rank = _rank(np.asarray(uniques), "keys")
        inverse = codes if rank is None else rank[codes]
        return inverse, uniques, None  # type: ignore[return-value]
    counts = np.bincount(keys, minlength=key_range)
    uniques = np.flatnonzero(counts > 0)
    if len(uniques) == key_range:  # every key present: the keys are their own positions
        return keys, uniques, uniques
    lookup = np.zeros(key_range, dtype=np.int64)  # calloc: untouched pages cost nothing
    lookup[uniques] = np.arange(len(uniques))
    return lookup[keys], uniques, lookup


def _levels(series: pd.Series, what: str) -> np.ndarray:
    try:
        if series.dtype == np.float64:
            values = series.to_numpy()  # a view, not the copy that na_value= makes
        else:
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
    indicator_element: np.ndarray  # element position of each indicator
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
    counts = np.bincount(ind, minlength=len(ind_labels))
    if counts.max() > 1:
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
        indicator_element=indicator_element,
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


def _code_dtype(n_categories: int) -> type:
    """The integer type pandas keeps the codes of ``n_categories`` categories in (it holds -1
    too). Codes built in it go into a Categorical without a conversion pass."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _positions(index: pd.Index, series: pd.Series) -> np.ndarray:
    """``index.get_indexer`` of a column's values, -1 where absent. A categorical column looks
    up each category once instead of every row."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.dtype.categories
        if categories.dtype == index.dtype and categories.equals(index):
            return series.cat.codes.to_numpy()  # e.g. a column of a result over the same labels
        numeric = categories.dtype.kind in "iuf"
        raw = categories.to_numpy() if numeric else categories.to_numpy(dtype=object)
        found = np.append(index.get_indexer(raw), -1)  # code -1 (a missing value) -> -1
        return found[series.cat.codes.to_numpy()]
    return index.get_indexer(_raw_values(series))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a small integer array (np.unique hashes: slower here)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


@dataclass(frozen=True, eq=False)
class _Groups:
    """The (cycle, region) pairs present in answers, sorted, and their labels."""

    cycle_labels: np.ndarray
    region_labels: np.ndarray
    cycle_dtype: pd.CategoricalDtype
    region_dtype: pd.CategoricalDtype
    cycle: np.ndarray  # cycle code of each group (int64: safe in key arithmetic)
    region: np.ndarray  # region code of each group (int64)
    cycle_codes: np.ndarray  # the same in the Categorical code type, for label columns
    region_codes: np.ndarray
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
        """cycle and region columns of rows that belong to these groups."""
        return {
            "cycle": _categorical(self.cycle_codes[group], self.cycle_dtype),
            "region": _categorical(self.region_codes[group], self.region_dtype),
        }

    def repeated_columns(self, width: int) -> dict[str, Any]:
        """cycle and region columns of a table with ``width`` rows per group in each basis,
        in (basis, group, ...) order."""
        return {
            "cycle": _categorical(np.repeat(_per_basis(self.cycle_codes), width), self.cycle_dtype),
            "region": _categorical(
                np.repeat(_per_basis(self.region_codes), width), self.region_dtype
            ),
        }


def _frame(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(data, copy=False)  # no consolidation copy of the columns


def _both(per_basis: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Per-basis arrays -> one column in the (basis, ...) row order of every table: a view of
    an array whose first axis is the basis, else a concatenation."""
    if isinstance(per_basis, np.ndarray):
        return per_basis.reshape(-1)
    return np.concatenate([np.ravel(x) for x in per_basis])


def _per_basis(values: np.ndarray) -> np.ndarray:
    """A column that is the same in every basis, repeated for each."""
    return np.tile(values, len(BASES))


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

    scratch = np.empty(dense.owner.shape)  # one (group, indicator) buffer for the products
    el_score, el_answered, dim_score, dim_answered, index = _aggregate(fw, dense, scratch)
    # The agency table first: it is the last to need the dense layout, which is then freed
    # before the other tables allocate their columns.
    agencies = _agency_table(fw, dense, scratch)
    del dense, scratch
    elements = _element_table(fw, groups, el_score, el_answered)
    dimensions = _dimension_table(fw, groups, dim_score, dim_answered)
    regions = _region_table(fw, groups, index, dim_answered)
    cluster_table = _cluster_table(cluster, fw, groups, dim_score, index)
    gaps = _gap_table(targets, fw, groups, el_score)
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
    owner: np.ndarray  # (group, indicator) agency code, -1 where no answer row
    full: bool  # every (group, indicator) has an answer row
    agency_labels: np.ndarray
    # per basis, (group, indicator) level, 0 where unanswered: small integers when unpacked
    # from whole levels, float64 otherwise (the products with the weights are the same)
    levels: list[np.ndarray]
    missing: list[np.ndarray]  # per basis, (group, indicator) True where unanswered
    missing_cells: list[np.ndarray]  # per basis, the flat positions of those cells


# Bits of a packed cell: agency code << 6 | final level << 3 | self level (whole levels 0-5).
_PACK_SHIFT = 6
_PACK_EMPTY = -1 << _PACK_SHIFT  # a cell without a row: agency -1, levels 0


def _densify(answers: pd.DataFrame, fw: _Framework) -> _Dense:
    n_ind = len(fw.indicators)
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
    int_range = _small_int_range(answers["cycle"])
    if int_range is not None:
        # cycle ids in a small range (one cycle, as a build has, or a few years): key the rows
        # by (cycle - lowest, region) at once, and find the cycles present from the groups
        values, low, span = int_range
        if span == 1:
            key = region.astype(np.int64)  # a fresh buffer, worked in place
        else:
            key = np.subtract(values, low, dtype=np.int64)
            key *= n_reg
            key += region
        if len(key) == span * n_reg * n_ind:
            # One row per possible (cycle, region, indicator): every group is present, or a
            # slot is repeated, which the count of filled cells below reveals. No need to
            # look for the groups present.
            cell = key
            group_keys = lookup = np.arange(span * n_reg)
        else:
            cell, group_keys, lookup = _compact(key, span * n_reg)
        offset = group_keys // n_reg
        present = _distinct(offset)
        cycle_labels = (present + low).astype(values.dtype)
        if len(present) < span:  # years without answers in between: number those present
            rank = np.zeros(span, dtype=np.int64)
            rank[present] = np.arange(len(present))
            group_keys = rank[offset] * n_reg + (group_keys - offset * n_reg)
            lookup = None
    else:
        cycle, cycle_labels = _encode(answers["cycle"], "answers.cycle")
        key = np.multiply(cycle, n_reg, dtype=np.int64)  # a fresh buffer, worked in place
        key += region
        cell, group_keys, lookup = _compact(key, len(cycle_labels) * n_reg)
        del cycle
    del key, region
    group_cycle, group_region = group_keys // max(n_reg, 1), group_keys % max(n_reg, 1)
    groups = _Groups(
        cycle_labels=cycle_labels,
        region_labels=region_labels,
        cycle_dtype=_dtype_of(cycle_labels),
        region_dtype=_dtype_of(region_labels),
        cycle=group_cycle,
        region=group_region,
        cycle_codes=group_cycle.astype(_code_dtype(len(cycle_labels))),
        region_codes=group_region.astype(_code_dtype(n_reg)),
        keys=group_keys,
        lookup=lookup,
    )
    cell *= n_ind  # our own buffer: the group of each row becomes its dense cell
    if len(ind_pos) <= n_ind and _is_range(ind_pos):  # codes already in canonical order
        cell += ind_codes
    else:
        cell += np.take(ind_pos, ind_codes)
    del ind_codes
    n_cells = groups.n * n_ind
    # rows already in canonical order (cycle, region, dimension, element, indicator) and
    # complete, as a selector can deliver them, need no scatter: the columns are the layout
    in_order = len(cell) == n_cells and _is_range(cell)

    agency, agency_labels = _encode(answers["agency"], "answers.agency", missing="")
    n_ag = len(agency_labels)
    values = [_levels(answers[_LEVEL_COLUMN[b]], f"answers.{_LEVEL_COLUMN[b]}") for b in BASES]
    # Levels are whole numbers in practice: as small integers (0 where unanswered) they take
    # an eighth of the memory of floats, and give the same products with the weights.
    whole = _whole_levels(values)
    if in_order:
        owner = agency.astype(_code_dtype(n_ag))
        levels = [_filled(v) for v in values] if whole is None else whole
    elif whole is not None and len(BASES) == 2 and n_ag < 1 << 24:
        # One scatter of the agency and both levels packed in a small integer, instead of one
        # scatter per array: a random scatter of a million rows is what costs here.
        packed_dtype = np.int16 if n_ag < 1 << (15 - _PACK_SHIFT) else np.int32
        packed = agency.astype(packed_dtype)
        packed <<= _PACK_SHIFT
        packed |= whole[0] << 3
        packed |= whole[1]
        dense = np.full(n_cells, _PACK_EMPTY, dtype=packed_dtype)
        dense[cell] = packed
        del packed
        owner = dense >> _PACK_SHIFT
        levels = [dense >> 3, dense]
        for level in levels:
            level &= 7
        del dense
    else:  # levels with decimals: scatter them as they are
        owner = np.full(n_cells, -1, dtype=_code_dtype(n_ag))
        owner[cell] = agency
        levels = []
        for v in values:
            level = np.zeros(n_cells)
            level[cell] = _filled(v)
            levels.append(level)
    missing = [level == 0 for level in levels]  # a level is 1-5: 0 is free for unanswered
    del agency, values, whole
    n_filled = n_cells if in_order else int(np.count_nonzero(owner >= 0))
    if n_filled != len(answers):
        _raise_duplicate(cell, n_cells, groups, fw)
    shape = (groups.n, n_ind)
    return _Dense(
        groups=groups,
        owner=owner.reshape(shape),
        full=n_filled == n_cells,
        agency_labels=agency_labels,
        levels=[level.reshape(shape) for level in levels],
        missing=[m.reshape(shape) for m in missing],
        missing_cells=[np.flatnonzero(m) for m in missing],
    )


def _is_range(values: np.ndarray) -> bool:
    """values == 0, 1, ..., n - 1 (integers): they start at 0, end at n - 1 and rise strictly,
    which needs no arange of n. A shuffled input is refuted on its first rows."""
    head = min(len(values), 1024)
    if not (values[:head] == np.arange(head)).all():
        return False
    return len(values) == head or (
        values[-1] == len(values) - 1 and bool((values[1:] > values[:-1]).all())
    )


def _whole_levels(values: list[np.ndarray]) -> list[np.ndarray] | None:
    """The levels of each basis as int8, 0 where unanswered, when every one is a whole
    number (they are, in practice); else None."""
    codes = []
    for v in values:
        code = np.empty(len(v), dtype=np.int8)
        np.fmax(v, 0.0, out=code, casting="unsafe")  # levels are checked to lie in 1-5
        # whole: every level equals its code, except the unanswered (NaN), whose code is 0
        if np.count_nonzero(code == v) + len(v) - np.count_nonzero(code) != len(v):
            return None
        codes.append(code)
    return codes


def _filled(values: np.ndarray) -> np.ndarray:
    """The levels with 0 where unanswered (NaN). np.fmax skips NaN, and is many times faster
    than np.nan_to_num."""
    return np.fmax(values, 0.0)


def _raise_duplicate(cell: np.ndarray, n_cells: int, groups: _Groups, fw: _Framework) -> None:
    slots = np.bincount(cell, minlength=n_cells)
    gi, ii = divmod(int(np.argmax(slots)), len(fw.indicators))
    raise ValueError(
        "answers repeat (cycle, region, indicator) "
        f"({groups.cycle_labels[groups.cycle[gi]]!r}, "
        f"{groups.region_labels[groups.region[gi]]!r}, {fw.indicators[ii]!r})"
    )


def _aggregate(fw: _Framework, dense: _Dense, scratch: np.ndarray):
    """Element, dimension and region scores and answered counts, per basis and group: arrays
    whose first axis is the basis, so that a table's column is a view, not a concatenation."""
    n_groups = dense.groups.n
    n_ind, n_el, n_dim = len(fw.indicators), len(fw.elements), len(fw.dimensions)
    bases = len(BASES)
    e = np.empty((bases, n_groups, n_el))
    ea = np.empty((bases, n_groups, n_el), dtype=np.int64)
    d = np.empty((bases, n_groups, n_dim))
    da = np.empty((bases, n_groups, n_dim), dtype=np.int64)
    r = np.empty((bases, n_groups))
    if n_groups == 0:
        return e, ea, d, da, r
    for b in range(bases):
        # Each group's row is reduced on its own, in indicator order: its figures do not
        # depend on the other groups. A weighted mean of values <= 5 is <= 5: np.minimum
        # removes an ulp.
        products = np.multiply(dense.levels[b], fw.w_indicator, out=scratch)
        np.add.reduceat(products, fw.element_starts, axis=1, out=e[b])
        e[b] /= fw.w_indicator_sum
        np.minimum(e[b], MAX_LEVEL, out=e[b])
        np.add.reduceat(e[b] * fw.w_element, fw.dimension_starts, axis=1, out=d[b])
        d[b] /= fw.w_element_sum
        np.minimum(d[b], MAX_LEVEL, out=d[b])
        np.divide((d[b] * fw.w_dimension).sum(axis=1), fw.w_dimension_sum, out=r[b])
        np.minimum(r[b], MAX_LEVEL, out=r[b])
        missing, missing_cells = dense.missing[b], dense.missing_cells[b]
        if 4 * len(missing_cells) < missing.size:  # the usual few unanswered: count only those
            group = missing_cells // n_ind
            element = fw.indicator_element[missing_cells - group * n_ind]
            group *= n_el
            group += element
            unanswered = np.bincount(group, minlength=n_groups * n_el).reshape(n_groups, n_el)
        else:  # uint16 sums faster than int64 and holds the count of any real element
            count = np.uint16 if fw.indicators_per_element.max() < 2**16 else np.int64
            unanswered = np.add.reduceat(
                missing.view(np.uint8), fw.element_starts, axis=1, dtype=count
            )
        np.subtract(fw.indicators_per_element, unanswered, out=ea[b])
        np.add.reduceat(ea[b], fw.dimension_starts, axis=1, out=da[b])
    return e, ea, d, da, r


def _element_table(fw: _Framework, groups: _Groups, el_score, el_answered) -> pd.DataFrame:
    n_el = len(fw.elements)
    score = _both(el_score)
    answered = _both(el_answered)
    total = np.tile(fw.indicators_per_element, len(BASES) * groups.n)
    data: dict[str, Any] = {"basis": _basis_column(groups.n * n_el)}
    data.update(groups.repeated_columns(n_el))
    data.update(_element_labels(fw, groups.n))
    data["score"] = score
    data["level"] = maturity_level(score)
    data["answered"] = answered
    data["total"] = total
    data["completeness"] = _ratio(el_answered, fw.indicators_per_element)
    return _frame(data)


def _ratio(answered: np.ndarray, total: np.ndarray) -> np.ndarray:
    """answered / total for a (basis, group, part) array of counts and the total of each part:
    the division int / int does, with the divisor converted once rather than per row."""
    return np.divide(answered, total.astype(np.float64)).reshape(-1)


def _element_labels(fw: _Framework, n_groups: int) -> dict[str, Any]:
    """dimension and element columns of a table with one row per element in each group and
    basis."""
    reps = len(BASES) * n_groups
    n_el = len(fw.elements)
    return {
        "dimension": _categorical(
            np.tile(fw.element_dimension.astype(_code_dtype(len(fw.dimensions))), reps),
            fw.dimension_dtype,
        ),
        "element": _categorical(
            np.tile(np.arange(n_el, dtype=_code_dtype(n_el)), reps), fw.element_dtype
        ),
    }


def _dimension_table(fw: _Framework, groups: _Groups, dim_score, dim_answered) -> pd.DataFrame:
    n_dim = len(fw.dimensions)
    score = _both(dim_score)
    rounded = round_published(score)
    answered = _both(dim_answered)
    reps = len(BASES) * groups.n
    total = np.tile(fw.indicators_per_dimension, reps)
    data: dict[str, Any] = {"basis": _basis_column(groups.n * n_dim)}
    data.update(groups.repeated_columns(n_dim))
    data["dimension"] = _categorical(
        np.tile(np.arange(n_dim, dtype=_code_dtype(n_dim)), reps), fw.dimension_dtype
    )
    data["score"] = score
    data["score_rounded"] = rounded
    data["level"] = maturity_level(score)
    data["predicate"] = _categorical(_predicate_band(rounded), _PREDICATE_DTYPE)
    data["answered"] = answered
    data["total"] = total
    data["completeness"] = _ratio(dim_answered, fw.indicators_per_dimension)
    return _frame(data)


def _region_table(fw: _Framework, groups: _Groups, index, dim_answered) -> pd.DataFrame:
    n_ind = len(fw.indicators)
    score = _both(index)
    rounded = round_published(score)
    answered = _both([a.sum(axis=1) for a in dim_answered])
    data: dict[str, Any] = {"basis": _basis_column(groups.n)}
    data.update(groups.repeated_columns(1))
    data["index"] = score
    data["index_rounded"] = rounded
    data["level"] = maturity_level(score)
    data["predicate"] = _categorical(_predicate_band(rounded), _PREDICATE_DTYPE)
    data["answered"] = answered
    data["total"] = np.full(len(score), n_ind, dtype=np.int64)
    data["completeness"] = answered / n_ind
    return _frame(data)


def _agency_table(fw: _Framework, dense: _Dense, scratch: np.ndarray) -> pd.DataFrame:
    """Agency x dimension scores, summed by np.bincount over the dense layout in its own
    order (group by group, indicator by indicator), so they never follow input row order.

    Each cell gets an integer key that sorts like the table's rows, (cycle, region, agency,
    dimension); the keys that occur are the rows."""
    groups = dense.groups
    if groups.n == 0:
        return _empty_table("agencies")
    n_dim = len(fw.dimensions)
    n_ag = len(dense.agency_labels)
    # The direct key is (group, agency code + 1, dimension), slot 0 collecting the cells
    # without an answer row (dropped). It needs no pass over (region, agency) pairs, but its
    # range grows with the number of agency codes: it serves when agencies are a national
    # vocabulary of slugs (dinkes in every region). Slugs unique to each region make thousands
    # of codes; the keys then go through the (region, agency) pairs present.
    stride = (n_ag + 1) * n_dim
    direct = _direct_agency_keys(groups.n * stride, dense.owner.size)
    if direct:
        # (agency code, dimension) within the group first, in a small integer type
        local = np.multiply(dense.owner, n_dim, dtype=_code_dtype(stride))  # -n_dim: no row
        local += fw.indicator_dimension.astype(local.dtype)
        offset = np.arange(groups.n, dtype=np.intp) * stride + n_dim
        key = np.add(local, offset[:, None], dtype=np.intp).reshape(-1)
        del local
        key_range, select, weight = groups.n * stride, None, fw.w_in_dimension
    else:
        key, key_range, select, weight, decode = _agency_keys_by_pair(fw, dense)

    def cells(array: np.ndarray) -> np.ndarray:
        return array.reshape(-1) if select is None else array.reshape(-1)[select]

    # The rows are the keys present, in order. Their cells are counted per key; the sums are
    # then taken per row rather than per key: a row per agency and dimension present, not
    # per possible key, keeps those bincounts small and spares gathering them from the keys.
    count = np.bincount(key, minlength=key_range)
    absent = None
    if direct and not dense.full:  # slot 0: the cells without an answer row
        absent = (slice(None), 0, slice(None))
        count.reshape(groups.n, n_ag + 1, n_dim)[absent] = 0
    rows = np.flatnonzero(count > 0)  # much faster than on the int64 counts themselves
    n_rows = len(rows)
    total = count[rows]
    row_of = count  # its memory, reused: read only at the keys of cells, which are rows
    del count
    row_of[rows] = np.arange(n_rows)
    if absent is not None:
        row_of.reshape(groups.n, n_ag + 1, n_dim)[absent] = n_rows  # a last row, dropped
    np.take(row_of, key, out=key, mode="clip")  # in place; every key is in range
    del row_of
    bins = n_rows + 1

    buffer = scratch if select is None else np.empty(len(select))
    buffer[...] = weight  # the effective weight of each cell
    weight_sum = np.bincount(key, weights=buffer.reshape(-1), minlength=bins)[:n_rows]
    score = np.empty(len(BASES) * n_rows)  # the columns, written basis by basis
    answered = np.empty(len(BASES) * n_rows, dtype=np.int64)
    completeness = np.empty(len(BASES) * n_rows)
    total_float = total.astype(np.float64)  # what int / int divides by, converted once
    for b in range(len(BASES)):
        part = slice(b * n_rows, (b + 1) * n_rows)
        np.multiply(cells(dense.levels[b]).reshape(buffer.shape), weight, out=buffer)
        sums = np.bincount(key, weights=buffer.reshape(-1), minlength=bins)[:n_rows]
        np.divide(sums, weight_sum, out=score[part])
        np.minimum(score[part], MAX_LEVEL, out=score[part])
        if select is None:
            missing = dense.missing_cells[b]
        else:  # np.flatnonzero and take: much faster than a boolean index
            missing = np.flatnonzero(cells(dense.missing[b]))
        unanswered = np.bincount(np.take(key, missing), minlength=bins)[:n_rows]
        np.subtract(total, unanswered, out=answered[part])
        np.divide(answered[part], total_float, out=completeness[part])
    del buffer, key
    if direct:
        group = rows // stride  # np.divmod is many times slower than // and -
        local = rows - group * stride
        # (agency, dimension) of each key within a group: tables of `stride` entries
        slot = np.arange(stride)
        agency = (slot // n_dim - 1).astype(_code_dtype(n_ag))[local]
        dim = (slot % n_dim).astype(_code_dtype(n_dim))[local]
        cycle, region = groups.cycle_codes[group], groups.region_codes[group]
    else:
        cycle, region, agency, dim = decode(rows)
    total_col = _per_basis(total)
    data: dict[str, Any] = {
        "basis": _basis_column(len(rows)),
        "cycle": _categorical(_per_basis(cycle), groups.cycle_dtype),
        "region": _categorical(_per_basis(region), groups.region_dtype),
        "agency": _categorical(
            _per_basis(agency.astype(_code_dtype(n_ag), copy=False)),
            pd.CategoricalDtype(pd.Index(dense.agency_labels)),
        ),
        "dimension": _categorical(
            _per_basis(dim.astype(_code_dtype(n_dim), copy=False)), fw.dimension_dtype
        ),
        "score": score,
        "answered": answered,
        "total": total_col,
        "completeness": completeness,
    }
    return _frame(data)


def _direct_agency_keys(key_range: int, n_cells: int) -> bool:
    """Whether direct agency keys have a range small enough to count in (a few bins per cell
    at most, so that the bincounts stay within a small multiple of the dense layout)."""
    return key_range <= 2 * n_cells + (1 << 20)


def _agency_keys_by_pair(fw: _Framework, dense: _Dense):
    """Agency keys (cycle, (region, agency) pair, dimension) for many agency codes: the pairs
    present are numbered in sorted order, a range small enough for bincount.

    Returns the keys of the cells that have an answer row, their range, those cells (None:
    all), their effective weights and a function from row keys to (cycle, region, agency,
    dimension) codes."""
    groups = dense.groups
    n_dim = len(fw.dimensions)
    n_ag = len(dense.agency_labels)
    n_reg = len(groups.region_labels)
    if dense.full:
        owner = dense.owner  # (group, indicator)
        cell_region = groups.region[:, None]  # broadcast, never materialised
        cell_cycle = groups.cycle[:, None]
        cell_dim = fw.indicator_dimension
        weight = fw.w_in_dimension
        select = None
    else:
        select = np.flatnonzero(dense.owner.reshape(-1) >= 0)
        cell_group = select // len(fw.indicators)
        cell_ind = select - cell_group * len(fw.indicators)
        owner = dense.owner.reshape(-1)[select]
        cell_region = groups.region[cell_group]
        cell_cycle = groups.cycle[cell_group]
        cell_dim = fw.indicator_dimension[cell_ind]
        weight = fw.w_in_dimension[cell_ind]
    # Slugs shared between regions make a small pair table; slugs unique to a region make a
    # large one, but then the agency ranked by (region, slug) is the pair, found without
    # hashing a pass of pairs.
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

    def decode(rows: np.ndarray) -> tuple[np.ndarray, ...]:
        keys = rows if row_keys is None else row_keys[rows]
        pair = keys // n_dim
        dim = keys - pair * n_dim
        cycle = pair // n_pairs
        pair -= cycle * n_pairs
        return cycle, pair_region[pair], pair_agency[pair], dim

    return key, key_range, select, weight, decode


def _cluster_table(
    cluster: pd.DataFrame | None, fw: _Framework, groups: _Groups, dim_score, index
) -> pd.DataFrame:
    if cluster is None or len(cluster) == 0 or groups.n == 0:
        return _empty_table("cluster")
    _require_columns(cluster, CLUSTER_COLUMNS, "cluster")
    c_cyc = _positions(groups.cycle_dtype.categories, cluster["cycle"])
    c_reg = _positions(groups.region_dtype.categories, cluster["region"])
    members = _distinct(groups.find(c_cyc, c_reg))  # sorted: by cycle, then region
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
    targets: pd.DataFrame | None, fw: _Framework, groups: _Groups, el_score
) -> pd.DataFrame:
    if targets is None or len(targets) == 0 or groups.n == 0:
        return _empty_table("gaps")
    _require_columns(targets, TARGET_COLUMNS, "targets")
    t_el = _positions(fw.element_index, targets["element"])
    if (t_el < 0).any():
        unknown = _raw_values(targets["element"])[t_el < 0][:5].tolist()
        raise ValueError(f"targets name element(s) not in the framework: {unknown}")
    t_reg = _positions(groups.region_dtype.categories, targets["region"])
    level = targets["target_level"].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(level).all():
        raise ValueError("targets.target_level must be finite")
    n_el = len(fw.elements)
    n_cells = len(groups.region_labels) * n_el
    keep = t_reg >= 0
    cell = t_reg[keep] * n_el + t_el[keep]
    if len(cell) and np.bincount(cell, minlength=n_cells).max() > 1:
        raise ValueError("targets repeat a (region, element)")
    table = np.full(n_cells, np.nan)
    table[cell] = level[keep]
    target = table.reshape(-1, n_el)[groups.region].reshape(-1)  # the elements table's rows
    data: dict[str, Any]
    if np.isnan(target).any():
        rows = np.flatnonzero(~np.isnan(target))
        target = target[rows]
        score = _both([s.reshape(-1)[rows] for s in el_score])
        group = rows // n_el
        element = rows - group * n_el
        data = {"basis": _basis_column(len(rows))}
        data.update(groups.columns(_per_basis(group)))
        data["dimension"] = _categorical(
            _per_basis(fw.element_dimension[element]), fw.dimension_dtype
        )
        data["element"] = _categorical(_per_basis(element), fw.element_dtype)
    else:  # a target for every element of every region scored: the elements table's rows
        score = el_score.reshape(-1).copy()  # its own: the elements table holds the original
        data = {"basis": _basis_column(len(target))}
        data.update(groups.repeated_columns(n_el))
        data.update(_element_labels(fw, groups.n))
    target = _per_basis(target)
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
    reg_index = groups.region_dtype.categories
    basis_index = _BASIS_DTYPE.categories
    before = np.full((len(BASES), len(groups.region_labels), width), np.nan)

    def place(frame: pd.DataFrame, values: np.ndarray, slot: np.ndarray) -> None:
        r = _positions(reg_index, frame["region"])
        b = _positions(basis_index, frame["basis"])
        ok = (r >= 0) & (b >= 0) & (slot >= 0)
        before[b[ok], r[ok], slot[ok]] = values[ok]

    prev_regions, prev_dims = previous.regions, previous.dimensions
    place(
        prev_regions,
        prev_regions["index"].to_numpy(dtype=np.float64),
        np.zeros(len(prev_regions), dtype=np.int64),
    )
    dim = _positions(fw.dimension_index, prev_dims["dimension"])
    place(prev_dims, prev_dims["score"].to_numpy(dtype=np.float64), np.where(dim >= 0, dim + 1, -1))

    now = np.stack([np.column_stack([index[b], dim_score[b]]) for b in range(len(BASES))])
    then = before[:, groups.region, :].reshape(-1)  # (basis, group, width), like now
    now = now.reshape(-1)
    data: dict[str, Any]
    if np.isnan(then).any():
        rows = np.flatnonzero(~np.isnan(then))
        now, then = now[rows], then[rows]
        basis = rows // (groups.n * width)
        data = {"basis": _categorical(basis.astype(np.int8), _BASIS_DTYPE)}
        data.update(groups.columns((rows // width) % groups.n))
        data["dimension"] = _categorical(rows % width, fw.overall_dtype)
    else:  # every region and dimension scored before: a row for each, in their order
        data = {"basis": _basis_column(groups.n * width)}
        data.update(groups.repeated_columns(width))
        data["dimension"] = _categorical(
            np.tile(np.arange(width, dtype=_code_dtype(width)), len(BASES) * groups.n),
            fw.overall_dtype,
        )
    prev_labels = np.asarray(prev_cycles)
    data["previous_cycle"] = _categorical(np.zeros(len(now), dtype=np.int8), _dtype_of(prev_labels))
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

"""The scoring engine (reports/scoring.py): hand-computed cases, edge cases and properties.

Pure tests: no database, no Django. The hand-computed case writes its arithmetic out with
exact fractions, so a change of definition shows up as a named, readable difference.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reports import scoring
from reports.scoring import (
    ANSWER_COLUMNS,
    ENGINE_VERSION,
    FRAMEWORK_COLUMNS,
    TABLE_COLUMNS,
    TABLES,
    compute,
    input_hash,
    maturity_level,
    predicate,
    round_published,
)

NAN = float("nan")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXACT = {"rel": 1e-12, "abs": 1e-12}


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def framework_of(spec: dict) -> pd.DataFrame:
    """{dimension: (w_dimension, {element: (w_element, {indicator: w_indicator})})}."""
    rows = [
        (dim, el, ind, wd, we, wi)
        for dim, (wd, elements) in spec.items()
        for el, (we, indicators) in elements.items()
        for ind, wi in indicators.items()
    ]
    return pd.DataFrame(rows, columns=list(FRAMEWORK_COLUMNS))


def answers_of(rows: list[tuple]) -> pd.DataFrame:
    """rows of (cycle, region, indicator, agency, self_level, final_level)."""
    return pd.DataFrame(rows, columns=list(ANSWER_COLUMNS))


def row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    hits = frame[mask]
    assert len(hits) == 1, f"{len(hits)} rows match {where}"
    return hits.iloc[0]


# The hand-computed case. GOV weighs 2, ENV 1.
#   GOV-SVC (w 1): GOV-1 (w 1), GOV-2 (w 3)     GOV-BUR (w 3): GOV-3 (w 1)
#   ENV-PRO (w 1): ENV-1 (w 2), ENV-2 (w 2)
HAND_FRAMEWORK = {
    "GOV": (
        2.0,
        {"GOV-SVC": (1.0, {"GOV-1": 1.0, "GOV-2": 3.0}), "GOV-BUR": (3.0, {"GOV-3": 1.0})},
    ),
    "ENV": (1.0, {"ENV-PRO": (1.0, {"ENV-1": 2.0, "ENV-2": 2.0})}),
}
# Kota Semarang, cycle 2025. ENV-2 has no row at all: unanswered, scores 0.
HAND_ANSWERS = [
    (2025, "3374", "GOV-1", "diskominfo", 3.0, 3.0),
    (2025, "3374", "GOV-2", "dpmptsp", 4.0, 2.0),
    (2025, "3374", "GOV-3", "diskominfo", NAN, 5.0),
    (2025, "3374", "ENV-1", "dlh", 2.0, NAN),
]


@pytest.fixture
def hand() -> scoring.ScoringResult:
    return compute(
        answers_of(HAND_ANSWERS),
        framework_of(HAND_FRAMEWORK),
        targets=pd.DataFrame({"region": ["3374"], "element": ["GOV-SVC"], "target_level": [4.0]}),
    )


# --------------------------------------------------------------------------------------------
# The hand-computed case
# --------------------------------------------------------------------------------------------


def test_hand_computed_final_scores_match_the_arithmetic_to_the_last_decimal(hand):
    gov_svc = (F(1) * 3 + F(3) * 2) / (1 + 3)  # 9/4 = 2.25
    gov_bur = F(1) * 5 / 1  # 5
    gov = (F(1) * gov_svc + F(3) * gov_bur) / (1 + 3)  # (9/4 + 15) / 4 = 69/16 = 4.3125
    env_pro = (F(2) * 0 + F(2) * 0) / (2 + 2)  # ENV-1 unverified, ENV-2 unanswered: 0
    env = env_pro
    index = (F(2) * gov + F(1) * env) / (2 + 1)  # (69/8) / 3 = 23/8 = 2.875
    expected_elements = {"GOV-SVC": gov_svc, "GOV-BUR": gov_bur, "ENV-PRO": env_pro}
    for element, value in expected_elements.items():
        got = row(hand.elements, basis="final", element=element)["score"]
        assert got == pytest.approx(float(value), **EXACT)
    assert row(hand.dimensions, basis="final", dimension="GOV")["score"] == pytest.approx(
        float(gov), **EXACT
    )
    assert row(hand.dimensions, basis="final", dimension="ENV")["score"] == 0.0
    region = row(hand.regions, basis="final")
    assert region["index"] == pytest.approx(float(index), **EXACT)
    assert region["index_rounded"] == 2.88  # 2.875 half up
    assert region["level"] == 2
    assert region["predicate"] == "baik"


def test_hand_computed_provisional_scores_use_the_self_assessed_levels(hand):
    gov_svc = (F(1) * 3 + F(3) * 4) / 4  # 15/4 = 3.75
    gov_bur = F(0)  # GOV-3 has no self-assessed level
    gov = (F(1) * gov_svc + F(3) * gov_bur) / 4  # 15/16 = 0.9375
    env = (F(2) * 2 + F(2) * 0) / 4  # 1
    index = (2 * gov + 1 * env) / 3  # (15/8 + 1) / 3 = 23/24 = 0.958333...
    assert row(hand.elements, basis="provisional", element="GOV-SVC")["score"] == pytest.approx(
        float(gov_svc), **EXACT
    )
    assert row(hand.dimensions, basis="provisional", dimension="GOV")["score"] == pytest.approx(
        float(gov), **EXACT
    )
    assert row(hand.dimensions, basis="provisional", dimension="ENV")["score"] == pytest.approx(
        float(env), **EXACT
    )
    region = row(hand.regions, basis="provisional")
    assert region["index"] == pytest.approx(float(index), **EXACT)
    assert (region["index_rounded"], region["level"], region["predicate"]) == (0.96, 0, "kurang")


def test_hand_computed_completeness_counts_indicators_answered(hand):
    final = row(hand.regions, basis="final")
    assert (final["answered"], final["total"], final["completeness"]) == (3, 5, 0.6)
    env = row(hand.elements, basis="final", element="ENV-PRO")
    assert (env["answered"], env["total"], env["completeness"]) == (0, 2, 0.0)
    env = row(hand.elements, basis="provisional", element="ENV-PRO")
    assert (env["answered"], env["total"], env["completeness"]) == (1, 2, 0.5)
    gov = row(hand.dimensions, basis="provisional", dimension="GOV")
    assert (gov["answered"], gov["total"]) == (2, 3)


def test_hand_computed_agency_scores_weight_answers_by_their_weight_in_the_dimension(hand):
    # effective weight in GOV = share within the element x share of the element in GOV
    w_gov1 = F(1, 4) * F(1, 4)  # 1/16
    w_gov2 = F(3, 4) * F(1, 4)  # 3/16
    w_gov3 = F(1, 1) * F(3, 4)  # 3/4
    diskominfo = (w_gov1 * 3 + w_gov3 * 5) / (w_gov1 + w_gov3)  # (3/16 + 60/16) / (13/16)
    assert diskominfo == F(63, 13)
    got = row(hand.agencies, basis="final", agency="diskominfo", dimension="GOV")
    assert got["score"] == pytest.approx(float(diskominfo), **EXACT)
    assert (got["answered"], got["total"]) == (2, 2)
    got = row(hand.agencies, basis="provisional", agency="diskominfo", dimension="GOV")
    assert got["score"] == pytest.approx(float((w_gov1 * 3) / (w_gov1 + w_gov3)), **EXACT)
    assert (got["answered"], got["total"]) == (1, 2)
    assert row(hand.agencies, basis="final", agency="dpmptsp")["score"] == pytest.approx(
        float(w_gov2 * 2 / w_gov2), **EXACT
    )
    dlh = row(hand.agencies, basis="final", agency="dlh")
    assert (dlh["dimension"], dlh["score"], dlh["answered"], dlh["total"]) == ("ENV", 0.0, 0, 1)


def test_hand_computed_gap_is_target_minus_score_on_both_bases(hand):
    assert row(hand.gaps, basis="final")["gap"] == pytest.approx(4 - 2.25, **EXACT)
    assert row(hand.gaps, basis="provisional")["gap"] == pytest.approx(4 - 3.75, **EXACT)
    assert list(hand.gaps.columns) == list(TABLE_COLUMNS["gaps"])


def test_region_summary_nests_dimensions_and_elements(hand):
    summary = hand.region_summary("3374", 2025, "final")
    assert summary["index"] == pytest.approx(2.875, **EXACT)
    assert summary["predicate"] == "baik"
    assert summary["completeness"] == 0.6
    dims = {d["code"]: d for d in summary["dimensions"]}
    assert dims["GOV"]["level"] == 4
    assert {e["code"]: e["score"] for e in dims["GOV"]["elements"]} == {
        "GOV-BUR": 5.0,
        "GOV-SVC": 2.25,
    }
    json.dumps(summary, allow_nan=False)
    with pytest.raises(KeyError):
        hand.region_summary("3322", 2025, "final")


# --------------------------------------------------------------------------------------------
# Cluster, changes, tables
# --------------------------------------------------------------------------------------------

SMALL_FRAMEWORK = {
    "GOV": (1.0, {"GOV-SVC": (1.0, {"G1": 1.0, "G2": 1.0})}),
    "ENV": (1.0, {"ENV-PRO": (1.0, {"E1": 1.0})}),
}


def small_answers(cycle, levels: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """levels: region -> (G1, G2, E1), same on both bases."""
    return answers_of(
        [
            (cycle, region, ind, "dinkes", level, level)
            for region, values in levels.items()
            for ind, level in zip(("G1", "G2", "E1"), values, strict=True)
        ]
    )


def test_cluster_score_is_the_plain_mean_of_members_present_in_answers():
    answers = small_answers(2025, {"3374": (4, 4, 2), "3322": (2, 2, 5), "3321": (1, 1, 1)})
    members = pd.DataFrame(
        {"cycle": [2025, 2025, 2025, 2024], "region": ["3374", "3322", "3373", "3321"]}
    )
    result = compute(answers, framework_of(SMALL_FRAMEWORK), cluster=members)
    # 3374: GOV 4, ENV 2, index 3; 3322: GOV 2, ENV 5, index 3.5. Salatiga (3373) has no
    # answers and Demak (3321) is a member in 2024 only: neither counts.
    overall = row(result.cluster, basis="final", dimension="")
    assert (overall["score"], overall["regions"], overall["predicate"]) == (3.25, 2, "baik")
    assert row(result.cluster, basis="final", dimension="GOV")["score"] == 3.0
    assert row(result.cluster, basis="final", dimension="ENV")["score"] == 3.5
    assert row(result.cluster, basis="final", dimension="ENV")["level"] == 3


def test_changes_compare_index_and_dimensions_with_the_previous_cycle_by_code():
    fw = framework_of(SMALL_FRAMEWORK)
    before = compute(small_answers(2024, {"3374": (2, 2, 2), "3322": (1, 1, 1)}), fw)
    now = compute(small_answers(2025, {"3374": (4, 4, 2), "3373": (5, 5, 5)}), fw, previous=before)
    changes = now.changes[now.changes["basis"] == "final"]
    # only 3374 is in both cycles
    assert set(changes["region"]) == {"3374"}
    assert row(changes, dimension="")["change"] == 1.0  # index 2 -> 3
    assert row(changes, dimension="GOV")["change"] == 2.0
    assert row(changes, dimension="ENV")["change"] == 0.0
    assert set(changes["previous_cycle"]) == {2024}


def test_previous_with_several_cycles_is_refused():
    fw = framework_of(SMALL_FRAMEWORK)
    both = pd.concat(
        [small_answers(2023, {"3374": (1, 1, 1)}), small_answers(2024, {"3374": (2, 2, 2)})]
    )
    with pytest.raises(ValueError, match="exactly one cycle"):
        compute(small_answers(2025, {"3374": (3, 3, 3)}), fw, previous=compute(both, fw))


def test_absent_optional_inputs_give_empty_tables_with_the_documented_columns():
    result = compute(small_answers(2025, {"3374": (1, 2, 3)}), framework_of(SMALL_FRAMEWORK))
    for name in TABLES:
        assert list(getattr(result, name).columns) == list(TABLE_COLUMNS[name]), name
    assert result.cluster.empty and result.gaps.empty and result.changes.empty


def test_empty_answers_give_empty_tables_with_the_documented_columns():
    result = compute(answers_of([]), framework_of(SMALL_FRAMEWORK))
    for name in TABLES:
        frame = getattr(result, name)
        assert frame.empty and list(frame.columns) == list(TABLE_COLUMNS[name]), name
    json.dumps(result.to_dict(), allow_nan=False)


def test_tables_are_sorted_by_basis_then_cycle_then_region_then_codes():
    answers = small_answers(2025, {"3374": (4, 4, 2), "3322": (2, 2, 5)})
    answers = pd.concat([answers, small_answers(2024, {"3374": (1, 1, 1)})])
    result = compute(answers.iloc[::-1], framework_of(SMALL_FRAMEWORK))
    keys = ["basis", "cycle", "region", "dimension", "element"]
    as_tuples = [tuple(map(str, t)) for t in result.elements[keys].itertuples(index=False)]
    assert as_tuples == sorted(as_tuples)
    assert result.regions[["basis", "cycle", "region"]].astype(str).values.tolist() == [
        ["final", "2024", "3374"],
        ["final", "2025", "3322"],
        ["final", "2025", "3374"],
        ["provisional", "2024", "3374"],
        ["provisional", "2025", "3322"],
        ["provisional", "2025", "3374"],
    ]


def test_to_dict_is_json_with_the_engine_version():
    result = compute(small_answers(2025, {"3374": (1, 2, NAN)}), framework_of(SMALL_FRAMEWORK))
    data = json.loads(json.dumps(result.to_dict(), sort_keys=True, allow_nan=False))
    assert data["engine_version"] == ENGINE_VERSION
    assert data["tables"]["regions"]["data"]["region"] == ["3374", "3374"]
    assert data["tables"]["regions"]["data"]["cycle"] == [2025, 2025]


def test_engine_version_is_a_semantic_version():
    parts = ENGINE_VERSION.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_categorical_code_columns_give_the_same_result_as_strings():
    answers = answers_of(HAND_ANSWERS)
    as_categories = answers.astype(
        {"region": "category", "indicator": "category", "agency": "category"}
    )
    fw = framework_of(HAND_FRAMEWORK)
    assert compute(as_categories, fw).to_json() == compute(answers, fw).to_json()


def test_a_region_scores_the_same_alone_as_in_a_batch():
    fw = framework_of(HAND_FRAMEWORK)
    alone = compute(answers_of(HAND_ANSWERS), fw)
    other = [(2025, "3322", ind, "dinkes", 1.7, 4.3) for ind in ("GOV-1", "GOV-3", "ENV-2")]
    batch = compute(answers_of(HAND_ANSWERS + other), fw)
    for name in ("elements", "dimensions", "regions", "agencies"):
        mine = getattr(batch, name)
        mine = mine[mine["region"] == "3374"]
        for column in ("score", "index"):
            if column in mine:  # bit for bit, not approximately
                assert mine[column].tolist() == getattr(alone, name)[column].tolist(), name


def agency_reference(answers: pd.DataFrame, fw: pd.DataFrame, basis: str) -> dict:
    """Agency x dimension scores the slow, obvious way: effective weights per indicator, then
    a weighted mean per (cycle, region, agency, dimension)."""
    fw = fw.copy()
    fw["share"] = fw["w_indicator"] / fw.groupby("element")["w_indicator"].transform("sum")
    elements = fw.drop_duplicates("element")
    element_share = (
        elements.set_index("element")["w_element"]
        / elements.groupby("dimension")["w_element"].transform("sum").to_numpy()
    )
    fw["weight"] = fw["share"] * fw["element"].map(element_share)
    merged = answers.merge(fw[["indicator", "dimension", "weight"]], on="indicator")
    column = "final_level" if basis == "final" else "self_level"
    merged["weighted"] = merged["weight"] * merged[column].fillna(0.0)
    sums = merged.groupby(["cycle", "region", "agency", "dimension"])[["weighted", "weight"]].sum()
    return (sums["weighted"] / sums["weight"]).to_dict()


@pytest.mark.parametrize("scoped", [False, True], ids=["shared slugs", "region-scoped slugs"])
@pytest.mark.parametrize("complete", [False, True], ids=["a row missing", "every row"])
def test_agency_scores_match_a_straightforward_groupby(scoped, complete):
    # many region-scoped slugs take the engine's other way of numbering (region, agency) pairs
    rng = np.random.default_rng(7)
    fw = framework_of(HAND_FRAMEWORK)
    rows = []
    for region in ("3374", "3322", "3321", "3324", "3373"):
        for number, indicator in enumerate(fw["indicator"]):
            if not complete and (region, indicator) == ("3322", "GOV-2"):
                continue  # the dense layout has a hole
            agency = f"{region}-opd{number}" if scoped else ("dinkes", "dlh")[number % 2]
            self_level, final_level = rng.choice([NAN, 1, 2, 3, 4, 5], 2)
            rows.append((2025, region, indicator, agency, self_level, final_level))
    answers = answers_of(rows)
    result = compute(answers, fw)
    for basis in ("final", "provisional"):
        expected = agency_reference(answers, fw, basis)
        got = result.agencies[result.agencies["basis"] == basis]
        assert len(got) == len(expected)
        for r in got.itertuples(index=False):
            key = (r.cycle, r.region, r.agency, r.dimension)
            assert r.score == pytest.approx(expected[key], **EXACT), key


def test_rows_in_canonical_order_give_the_same_result_as_any_other_order():
    # canonical: cycle, region, then dimension, element, indicator codes (ENV before GOV)
    rows = [
        (2025, region, indicator, "dinkes", level, level - 0.5)
        for region, base in (("3322", 2.0), ("3374", 3.0))
        for indicator, level in (("E1", base), ("G1", base + 1), ("G2", base + 2))
    ]
    fw = framework_of(SMALL_FRAMEWORK)
    in_order = compute(answers_of(rows), fw)
    assert in_order.to_json() == compute(answers_of(rows[::-1]), fw).to_json()
    assert row(in_order.regions, basis="final", region="3374")["index"] == pytest.approx(
        (2.5 + (3.5 + 4.5) / 2) / 2, **EXACT
    )


def national_sample(
    seed: int, *, regions: int = 6, cycles=(2024, 2025), scoped: bool = False
) -> pd.DataFrame:
    """Answers of a few regions over the hand framework: agency slugs shared by the regions
    (or, scoped, their own), levels 1-5 with gaps, rows shuffled."""
    rng = np.random.default_rng(seed)
    fw = framework_of(HAND_FRAMEWORK)
    rows = []
    for cycle in cycles:
        for r in range(regions):
            for ind in fw["indicator"]:
                agency = ("dinkes", "dlh", "diskominfo")[rng.integers(3)]
                levels = tuple(rng.choice([NAN, 1.0, 2.0, 3.0, 4.0, 5.0], 2))
                rows.append(
                    (cycle, f"33{r:02d}", ind, f"33{r:02d}-{agency}" if scoped else agency, *levels)
                )
    return answers_of(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("scoped", [False, True], ids=["shared slugs", "region-scoped slugs"])
def test_agency_rows_numbered_directly_or_through_region_agency_pairs_are_identical(
    monkeypatch, scoped
):
    # the engine numbers agency rows directly when agency codes are few, else through the
    # (region, agency) pairs present; both must give the same bytes
    fw = framework_of(HAND_FRAMEWORK)
    answers = national_sample(3, scoped=scoped)
    holed = answers.drop(index=[0, 5])  # cells without an answer row take another path
    direct = [compute(frame, fw).to_json() for frame in (answers, holed)]
    monkeypatch.setattr(scoring, "_direct_agency_keys", lambda *args: False)
    assert [compute(frame, fw).to_json() for frame in (answers, holed)] == direct


def test_whole_levels_packed_give_the_same_bytes_as_levels_scattered_as_floats(monkeypatch):
    # whole levels go through the dense layout packed with the agency in small integers;
    # levels with decimals as floats. The products, sums and tables must not differ.
    fw = framework_of(HAND_FRAMEWORK)
    shuffled = national_sample(4)
    in_order = shuffled.sort_values(["cycle", "region", "indicator"], key=canonical_key)
    packed = [compute(frame, fw).to_json() for frame in (shuffled, in_order)]
    monkeypatch.setattr(scoring, "_whole_levels", lambda values: None)
    assert [compute(frame, fw).to_json() for frame in (shuffled, in_order)] == packed


def canonical_key(column: pd.Series) -> pd.Series:
    """Sort key putting indicators in the framework's (dimension, element, indicator) order."""
    if column.name != "indicator":
        return column
    order = {"ENV-1": 0, "ENV-2": 1, "GOV-3": 2, "GOV-1": 3, "GOV-2": 4}  # ENV, GOV-BUR, GOV-SVC
    return column.map(order)


@pytest.mark.parametrize("unanswered", [0.05, 0.9], ids=["few unanswered", "most unanswered"])
def test_answered_counts_match_a_groupby_however_many_slots_are_unanswered(unanswered):
    rng = np.random.default_rng(11)
    fw = framework_of(HAND_FRAMEWORK)
    answers = national_sample(5, regions=8)
    for column in ("self_level", "final_level"):
        answers.loc[rng.random(len(answers)) < unanswered, column] = NAN
    result = compute(answers, fw)
    merged = answers.merge(fw[["indicator", "element"]], on="indicator")
    for basis, column in (("final", "final_level"), ("provisional", "self_level")):
        expected = merged.groupby(["cycle", "region", "element"])[column].count().to_dict()
        got = result.elements[result.elements["basis"] == basis]
        assert {
            (r.cycle, r.region, r.element): r.answered for r in got.itertuples(index=False)
        } == expected
        agencies = result.agencies[result.agencies["basis"] == basis]
        by_agency = merged.merge(fw[["indicator", "dimension"]], on="indicator")
        expected = by_agency.groupby(["cycle", "region", "agency", "dimension"])[column].count()
        assert {
            (r.cycle, r.region, r.agency, r.dimension): r.answered
            for r in agencies.itertuples(index=False)
        } == expected.to_dict()


def test_a_repeated_slot_is_refused_even_when_the_rows_are_as_many_as_the_slots():
    # as many rows as (cycle, region, indicator) slots, but one region's rows twice and the
    # other's missing: the count of rows cannot vouch for every slot being present
    fw = framework_of(SMALL_FRAMEWORK)
    twice = pd.concat([small_answers(2025, {"3374": (1, 2, 3)})] * 2, ignore_index=True)
    regions = pd.Categorical(twice["region"], categories=["3322", "3374"])  # 3322: no rows
    with pytest.raises(ValueError, match="repeat"):
        compute(twice.assign(region=regions), fw)


def test_cycles_with_a_year_missing_between_them_are_numbered_by_those_present():
    fw = framework_of(SMALL_FRAMEWORK)
    answers = pd.concat(
        [
            small_answers(2023, {"3374": (1, 2, 3), "3322": (2, 2, 2)}),
            small_answers(2025, {"3374": (4, 4, 4), "3322": (5, 5, 5)}),
        ]
    )
    cluster = pd.DataFrame({"cycle": [2023, 2025, 2025], "region": ["3374", "3374", "3322"]})
    result = compute(answers, fw, cluster=cluster)
    assert result.regions["cycle"].cat.categories.tolist() == [2023, 2025]
    overall = result.cluster[
        (result.cluster["dimension"] == "") & (result.cluster["basis"] == "final")
    ]
    assert overall["regions"].tolist() == [1, 2]
    assert overall["score"].tolist() == pytest.approx([(1.5 + 3) / 2, (4 + 5) / 2], **EXACT)


def test_a_target_for_every_element_gives_the_elements_rows_with_their_gaps():
    fw = framework_of(HAND_FRAMEWORK)
    answers = national_sample(6, regions=3)
    elements = fw["element"].unique()
    targets = pd.DataFrame(
        [(f"33{r:02d}", e, 3.5) for r in range(3) for e in elements],
        columns=["region", "element", "target_level"],
    )
    result = compute(answers, fw, targets=targets)
    gaps, scores = result.gaps, result.elements
    labels = ["basis", "cycle", "region", "dimension", "element"]
    pd.testing.assert_frame_equal(gaps[labels], scores[labels])
    assert gaps["score"].tolist() == scores["score"].tolist()
    assert (gaps["gap"] == 3.5 - gaps["score"]).all()
    # a table of its own: changing the gaps must not change the elements table
    assert not np.shares_memory(gaps["score"].to_numpy(), scores["score"].to_numpy())


def test_a_target_repeated_for_a_region_and_element_is_refused():
    targets = pd.DataFrame(
        {"region": ["3374", "3374"], "element": ["GOV-SVC", "GOV-SVC"], "target_level": [3, 4]}
    )
    with pytest.raises(ValueError, match="repeat"):
        compute(answers_of(HAND_ANSWERS), framework_of(HAND_FRAMEWORK), targets=targets)


def test_engine_module_imports_no_django():
    code = (
        "import sys; import reports.scoring; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad"
    )
    root = Path(scoring.__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)  # noqa: S603


# --------------------------------------------------------------------------------------------
# Published figure, predicate, level
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "published", "code"),
    [
        (2.596, 2.60, "baik"),
        (2.595, 2.60, "baik"),  # stored as 2.5949999999999997: still half up
        (2.594, 2.59, "cukup"),
        (1.795, 1.80, "cukup"),
        (1.794, 1.79, "kurang"),
        (4.2, 4.20, "memuaskan"),
        (4.195, 4.20, "memuaskan"),
        (4.19, 4.19, "sangat_baik"),
        (3.5, 3.50, "sangat_baik"),
        (3.495, 3.50, "sangat_baik"),
        (3.49, 3.49, "baik"),
        (5.0, 5.00, "memuaskan"),
        (0.0, 0.00, "kurang"),
    ],
)
def test_predicate_is_read_from_the_figure_rounded_half_up(score, published, code):
    assert round_published(score) == published
    assert predicate(round_published(score)) == code


@pytest.mark.parametrize(
    ("level", "published", "code"),
    [
        (2.595, 2.6, "baik"),
        (1.795, 1.8, "cukup"),
        (4.195, 4.2, "memuaskan"),
        (4.19, 4.19, "sangat_baik"),
    ],
)
def test_the_engine_publishes_rounded_indices_with_their_predicate(level, published, code):
    fw = framework_of({"GOV": (0.7, {"GOV-SVC": (0.3, {"G1": 0.9})})})
    result = compute(answers_of([(2025, "3374", "G1", "dinkes", level, level)]), fw)
    region = row(result.regions, basis="final")
    assert (region["index_rounded"], region["predicate"]) == (published, code)
    assert row(result.dimensions, basis="final")["predicate"] == code


def test_predicate_of_a_non_finite_score_is_an_error():
    with pytest.raises(ValueError):
        predicate(NAN)


@pytest.mark.parametrize(
    ("score", "level"),
    [(0.0, 0), (0.99, 0), (1.0, 1), (2.9999999999999996, 3), (3.0, 3), (3.999, 3), (5.0, 5)],
)
def test_level_is_the_floor_guarded_against_float_error(score, level):
    assert maturity_level(score) == level


def test_an_exact_three_out_of_float_sums_is_level_three():
    # weights of a third each: (1 + 3.9 + 4.1) / 3 is 3 in decimals, 2.9999999999999996 in
    # binary floating point; a plain floor would say level 2
    thirds = {"G0": 1 / 3, "G1": 1 / 3, "G2": 1 / 3}
    fw = framework_of({"GOV": (1 / 3, {"GOV-SVC": (1 / 3, thirds)})})
    levels = [("G0", 1.0), ("G1", 3.9), ("G2", 4.1)]
    result = compute(answers_of([(1, "3374", i, "dinkes", v, v) for i, v in levels]), fw)
    element = row(result.elements, basis="final", element="GOV-SVC")
    assert element["score"] == pytest.approx(3.0, **EXACT)
    assert element["score"] < 3.0
    assert element["level"] == 3
    assert row(result.dimensions, basis="final")["level"] == 3
    assert row(result.regions, basis="final")["level"] == 3
    assert row(result.regions, basis="final")["index_rounded"] == 3.0


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_a_repeated_answer_slot_is_refused():
    rows = [*HAND_ANSWERS, (2025, "3374", "GOV-1", "dinkes", 1.0, 1.0)]
    with pytest.raises(ValueError, match="repeat"):
        compute(answers_of(rows), framework_of(HAND_FRAMEWORK))


def test_an_answer_to_an_unknown_indicator_is_refused():
    rows = [*HAND_ANSWERS, (2025, "3374", "XXX-9", "dinkes", 1.0, 1.0)]
    with pytest.raises(ValueError, match="XXX-9"):
        compute(answers_of(rows), framework_of(HAND_FRAMEWORK))


@pytest.mark.parametrize("level", [0.0, 0.99, 5.01, math.inf])
def test_a_level_outside_one_to_five_is_refused(level):
    rows = [(2025, "3374", "GOV-1", "dinkes", level, 3.0)]
    with pytest.raises(ValueError, match="outside 1-5"):
        compute(answers_of(rows), framework_of(HAND_FRAMEWORK))


def test_a_dimension_weight_that_differs_between_its_rows_is_refused():
    fw = framework_of(HAND_FRAMEWORK)
    fw.loc[0, "w_dimension"] = 7.0
    with pytest.raises(ValueError, match="w_dimension"):
        compute(answers_of(HAND_ANSWERS), fw)


@pytest.mark.parametrize("weight", [0.0, -1.0, NAN])
def test_a_weight_that_is_not_positive_is_refused(weight):
    fw = framework_of(HAND_FRAMEWORK)
    fw.loc[0, "w_indicator"] = weight
    with pytest.raises(ValueError, match="positive"):
        compute(answers_of(HAND_ANSWERS), fw)


def test_an_element_in_two_dimensions_is_refused():
    fw = framework_of(HAND_FRAMEWORK)
    fw.loc[fw["indicator"] == "ENV-1", "element"] = "GOV-SVC"
    with pytest.raises(ValueError, match="two dimensions"):
        compute(answers_of(HAND_ANSWERS), fw)


def test_a_target_for_an_unknown_element_is_refused():
    targets = pd.DataFrame({"region": ["3374"], "element": ["NOPE"], "target_level": [3.0]})
    with pytest.raises(ValueError, match="NOPE"):
        compute(answers_of(HAND_ANSWERS), framework_of(HAND_FRAMEWORK), targets=targets)


# --------------------------------------------------------------------------------------------
# Input hash
# --------------------------------------------------------------------------------------------


def test_input_hash_ignores_row_order_and_extra_columns_but_not_values():
    answers, fw = answers_of(HAND_ANSWERS), framework_of(HAND_FRAMEWORK)
    digest = input_hash(answers, fw)
    assert len(digest) == 64
    shuffled = answers.sample(frac=1, random_state=3).assign(comment="x")
    assert input_hash(shuffled, fw.iloc[::-1]) == digest
    assert input_hash(answers, fw, cluster=None) == input_hash(
        answers, fw, cluster=pd.DataFrame({"cycle": [], "region": []})
    )
    changed = answers.copy()
    changed.loc[0, "final_level"] = 4.0
    assert input_hash(changed, fw) != digest
    assert input_hash(answers.assign(cycle="2025"), fw) != digest  # "2025" is not 2025


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

weights = st.floats(min_value=0.01, max_value=100.0, allow_nan=False, allow_infinity=False)
levels = st.one_of(
    st.sampled_from([NAN, 1.0, 2.0, 3.0, 4.0, 5.0]),
    st.floats(min_value=1.0, max_value=5.0, allow_nan=False),
)


@st.composite
def scenarios(draw, equal_weights: bool = False):
    """A random framework (1-3 dimensions, 1-3 elements each, 1-4 indicators each), answers
    of 1-2 cycles x 1-3 regions with random gaps, owners, a cluster and targets."""
    spec, number = {}, 0
    for d in range(draw(st.integers(1, 3))):
        elements = {}
        for e in range(draw(st.integers(1, 3))):
            indicators = {}
            for _ in range(draw(st.integers(1, 4))):
                indicators[f"I{number:02d}"] = 1.0 if equal_weights else draw(weights)
                number += 1
            elements[f"D{d}-E{e}"] = (1.0 if equal_weights else draw(weights), indicators)
        spec[f"D{d}"] = (1.0 if equal_weights else draw(weights), elements)
    fw = framework_of(spec)
    regions = draw(
        st.lists(
            st.sampled_from(["3374", "3322", "3321", "3324"]), min_size=1, max_size=3, unique=True
        )
    )
    cycles = draw(st.lists(st.sampled_from([2024, 2025]), min_size=1, max_size=2, unique=True))
    agencies = st.sampled_from(["diskominfo", "dinkes", "dlh"])
    rows = []
    for cycle in cycles:
        for region in regions:
            for indicator in fw["indicator"]:
                if draw(st.integers(0, 9)) == 0:
                    continue  # no row at all: unanswered
                rows.append((cycle, region, indicator, draw(agencies), draw(levels), draw(levels)))
    assume(rows)
    cluster = pd.DataFrame(
        [(c, r) for c in cycles for r in regions if draw(st.booleans())],
        columns=["cycle", "region"],
    )
    targets = pd.DataFrame(
        [
            (r, e, draw(st.floats(1, 5)))
            for r in regions
            for e in fw["element"].unique()
            if draw(st.booleans())
        ],
        columns=["region", "element", "target_level"],
    )
    return answers_of(rows), fw, cluster, targets


SCORE_COLUMNS = {
    "elements": "score",
    "dimensions": "score",
    "regions": "index",
    "agencies": "score",
    "cluster": "score",
}


KEY_COLUMNS = ("basis", "cycle", "region", "agency", "dimension", "element")


def labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The key columns of a table: which rows it has, whatever their scores."""
    return frame[[c for c in frame.columns if c in KEY_COLUMNS]]


@PROPERTY
@given(scenarios())
def test_every_score_lies_between_zero_and_five(scenario):
    answers, fw, cluster, targets = scenario
    result = compute(answers, fw, cluster=cluster, targets=targets)
    for name, column in SCORE_COLUMNS.items():
        values = getattr(result, name)[column]
        assert ((values >= 0) & (values <= 5)).all(), name
        assert (
            getattr(result, name)["level"].between(0, 5).all()
            if "level" in getattr(result, name)
            else True
        )
    for name in ("elements", "dimensions", "regions", "agencies"):
        assert getattr(result, name)["completeness"].between(0, 1).all()


@PROPERTY
@given(scenarios(), st.data())
def test_raising_one_answer_never_lowers_an_aggregate_that_contains_it(scenario, data):
    answers, fw, cluster, _ = scenario
    position = data.draw(st.integers(0, len(answers) - 1))
    column = data.draw(st.sampled_from(["self_level", "final_level"]))
    old = answers.iloc[position][column]
    floor = 1.0 if np.isnan(old) else old
    new = data.draw(st.floats(min_value=floor, max_value=5.0))
    raised = answers.copy()
    raised.iloc[position, raised.columns.get_loc(column)] = new
    before = compute(answers, fw, cluster=cluster)
    after = compute(raised, fw, cluster=cluster)
    for name, score in SCORE_COLUMNS.items():
        b, a = getattr(before, name), getattr(after, name)
        pd.testing.assert_frame_equal(labels(b), labels(a))
        assert (a[score].to_numpy() >= b[score].to_numpy()).all(), name


@PROPERTY
@given(scenarios(equal_weights=True))
def test_equal_weights_give_the_plain_mean(scenario):
    answers, fw, _, _ = scenario
    result = compute(answers, fw)
    level = {"final": "final_level", "provisional": "self_level"}
    for basis, column in level.items():
        given_levels = answers.set_index(["cycle", "region", "indicator"])[column].fillna(0.0)
        for (cycle, region), _ in answers.groupby(["cycle", "region"]):
            element_means = {}
            for element, members in fw.groupby("element"):
                values = [given_levels.get((cycle, region, i), 0.0) for i in members["indicator"]]
                element_means[element] = sum(values) / len(values)
            where = {"basis": basis, "cycle": cycle, "region": region}
            for element, mean in element_means.items():
                got = row(result.elements, element=element, **where)["score"]
                assert got == pytest.approx(mean, **EXACT)
            dimension_means = {
                dim: np.mean([element_means[e] for e in members["element"].unique()])
                for dim, members in fw.groupby("dimension")
            }
            for dim, mean in dimension_means.items():
                got = row(result.dimensions, dimension=dim, **where)["score"]
                assert got == pytest.approx(mean, **EXACT)
            index = row(result.regions, **where)["index"]
            assert index == pytest.approx(np.mean(list(dimension_means.values())), **EXACT)


@PROPERTY
@given(scenarios(), st.randoms(use_true_random=False))
def test_row_order_does_not_change_a_single_byte(scenario, rnd):
    answers, fw, cluster, targets = scenario

    def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
        order = list(range(len(frame)))
        rnd.shuffle(order)
        return frame.iloc[order]

    first = compute(answers, fw, cluster=cluster, targets=targets)
    second = compute(
        shuffled(answers), shuffled(fw), cluster=shuffled(cluster), targets=shuffled(targets)
    )
    assert json.dumps(first.to_dict(), sort_keys=True) == json.dumps(
        second.to_dict(), sort_keys=True
    )
    assert input_hash(answers, fw, cluster, targets) == input_hash(
        shuffled(answers), shuffled(fw), shuffled(cluster), shuffled(targets)
    )


@PROPERTY
@given(scenarios(), st.data())
def test_scaling_the_weights_of_one_parent_changes_nothing(scenario, data):
    answers, fw, cluster, _ = scenario
    factor = data.draw(st.floats(min_value=0.001, max_value=1000.0))
    level = data.draw(st.sampled_from(["indicator", "element", "dimension"]))
    scaled = fw.copy()
    if level == "indicator":  # the indicators of one element
        element = data.draw(st.sampled_from(sorted(fw["element"].unique())))
        scaled.loc[scaled["element"] == element, "w_indicator"] *= factor
    elif level == "element":  # the elements of one dimension
        dimension = data.draw(st.sampled_from(sorted(fw["dimension"].unique())))
        scaled.loc[scaled["dimension"] == dimension, "w_element"] *= factor
    else:  # all dimensions
        scaled["w_dimension"] *= factor
    before = compute(answers, fw, cluster=cluster)
    after = compute(answers, scaled, cluster=cluster)
    for name, score in SCORE_COLUMNS.items():
        b, a = getattr(before, name), getattr(after, name)
        pd.testing.assert_frame_equal(labels(b), labels(a))
        assert a[score].to_numpy() == pytest.approx(b[score].to_numpy(), **EXACT), name


@PROPERTY
@given(scenarios(), st.data())
def test_an_unanswered_indicator_counts_zero_and_lowers_completeness(scenario, data):
    answers, fw, _, _ = scenario
    answered = answers[answers["final_level"].notna()]
    assume(len(answered))
    victim = answered.iloc[data.draw(st.integers(0, len(answered) - 1))]
    same_group = (answers["cycle"] == victim["cycle"]) & (answers["region"] == victim["region"])
    # no row at all (unless it is the group's only row), or a row without a level
    drop_row = data.draw(st.booleans()) and same_group.sum() > 1
    if drop_row:
        blanked = answers.drop(index=victim.name)
    else:
        blanked = answers.copy()
        blanked.loc[victim.name, "final_level"] = NAN
    where = {"basis": "final", "cycle": victim["cycle"], "region": victim["region"]}
    before, after = compute(answers, fw), compute(blanked, fw)
    element = fw.loc[fw["indicator"] == victim["indicator"], "element"].iloc[0]
    members = fw[fw["element"] == element]
    share = members.loc[members["indicator"] == victim["indicator"], "w_indicator"].iloc[0]
    share /= members["w_indicator"].sum()
    old = row(before.elements, element=element, **where)
    new = row(after.elements, element=element, **where)
    assert new["score"] == pytest.approx(old["score"] - share * victim["final_level"], **EXACT)
    assert new["answered"] == old["answered"] - 1
    assert new["completeness"] < old["completeness"]
    assert (
        row(after.regions, **where)["completeness"] < row(before.regions, **where)["completeness"]
    )

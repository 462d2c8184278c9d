"""The curated edibility table built from the real source tables, its look-ups and its warnings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from locations import needs_shared

from champy.edibility import DISCLAIMER, STATUSES, edibility_warnings, is_toxic, lookup
from champy.edibility.build import build_rows, build_table, main
from champy.edibility.curated import CURATED_PATH, read_curated, references
from champy.edibility.names import canonical_species
from champy.edibility.sources import SourceEntry
from champy.edibility.status import EDIBLE_STATUSES
from champy.edibility.table import TABLE_PATH, load_table
from champy.errors import ChampyError
from champy.paths import SHARED_DIR

SOURCES = SHARED_DIR / "data" / "edibility"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def table_row(species: str) -> dict[str, str]:
    return next(row for row in read_csv(TABLE_PATH) if row["species"] == species)


@needs_shared(SOURCES)
def test_committed_table_is_a_fresh_build_of_the_sources(tmp_path: Path) -> None:
    rows = build_table(SOURCES, tmp_path / "edibility.csv")
    assert (tmp_path / "edibility.csv").read_bytes() == TABLE_PATH.read_bytes()
    assert {row["status"] for row in rows} <= set(STATUSES) - {"unknown"}


@needs_shared(SOURCES)
def test_every_row_comes_from_a_shippable_source() -> None:
    shippable = {canonical_species(row["species"]) for row in read_csv(SOURCES / "kipz_mycology.csv")}
    shippable |= {canonical_species(row["scientific_name"]) for row in read_csv(SOURCES / "lannyf_species.csv")}
    curated = {canonical_species(row["species"]) for row in read_csv(CURATED_PATH)}
    for row in read_csv(TABLE_PATH):
        assert row["species"] in shippable | curated
        assert all(entry.split(":")[0] in {"kipz", "lannyf", "curator"} for entry in row["sources"].split(" | "))


def test_deadly_and_poisonous_amanitas() -> None:
    death_cap = lookup("Amanita phalloides")
    assert death_cap.status == "deadly"
    assert death_cap.sources == ("kipz:DEADLY", "lannyf:FALSE/EXTREMELY_TOXIC", "curator:deadly (White2019; Diaz2005)")
    assert death_cap.reference == ("White2019", "Diaz2005")
    fly_agaric = lookup("Amanita muscaria")
    assert fly_agaric.status == "poisonous"
    assert fly_agaric.sources == ("kipz:POISONOUS", "lannyf:FALSE/TOXIC")
    assert table_row("Amanita muscaria")["conflict"] == "no"


def test_cep_is_edible_with_its_sources() -> None:
    cep = lookup("Boletus edulis")
    assert cep.status in EDIBLE_STATUSES
    assert "kipz:Choice Edible" in cep.sources and "lannyf:TRUE/SAFE" in cep.sources
    assert "Rubroboletus satanas" in cep.toxic_lookalikes
    assert "Tylopilus felleus" not in cep.toxic_lookalikes  # its bullet says "NOT POISONOUS but extremely bitter"


def test_chanterelle_lists_the_corrected_false_chanterelle() -> None:
    row = table_row("Cantharellus cibarius")
    assert "Hygrophoropsis aurantiaca" in row["lookalikes"].split("; ")
    false_chanterelle = lookup("Hygrophorellus pseudoaurantiacus")  # lannyf's invalid name
    assert false_chanterelle.species == "Hygrophoropsis aurantiaca"
    assert false_chanterelle.status == "poisonous"  # lannyf TOXIC beats kipz "Inedible (possibly mildly toxic)"
    assert "Hygrophoropsis aurantiaca" in lookup("Cantharellus cibarius").toxic_lookalikes


def test_honey_fungus_takes_the_more_dangerous_verdict_and_is_a_conflict() -> None:
    honey = lookup("Armillaria mellea")
    assert "lannyf:TRUE/SAFE" in honey.sources
    assert honey.status == "poisonous"  # kipz "Controversial" fails closed
    assert table_row("Armillaria mellea")["conflict"] == "yes"
    assert "Galerina marginata" in honey.toxic_lookalikes


def test_synonyms_and_spelling_are_normalised() -> None:
    assert lookup("boletus BADIUS").species == "Imleria badia"
    assert lookup("  Boletus   satanas ").species == "Rubroboletus satanas"
    assert lookup("Neoboletus erythropus").species == "Neoboletus luridiformis"
    assert lookup("Coprinellus comatus").species == "Coprinus comatus"
    assert lookup("Caloboletus castaniceps").status == "unknown"  # not a real species: dropped


def test_unknown_species() -> None:
    assert lookup("Tricholoma matsutake").status == "unknown"
    assert lookup("Tricholoma matsutake").sources == ()
    assert lookup("").status == "unknown"


@needs_shared(SOURCES)
def test_disagreements_with_the_unlicensed_table_are_the_documented_conflicts() -> None:
    comparison = read_csv(SOURCES / "cross_source_comparison.csv")
    documented = {row["species_key"] for row in comparison if row["conflict"] == "yes"}
    disagreeing = set()
    for row in read_csv(SOURCES / "sofa325_mushroom_info.csv"):
        info = lookup(row["species"])
        if info.status != "unknown" and (row["edible"] == "true") != (info.status in EDIBLE_STATUSES):
            disagreeing.add(info.species.lower())
    assert disagreeing == documented


def test_warning_for_a_toxic_candidate() -> None:
    warnings = edibility_warnings([("Amanita muscaria", 0.9), ("Amanita phalloides", 0.06), ("Amanita virosa", 0.02)])
    assert warnings == [
        "Amanita muscaria (Fly Agaric) is poisonous and is a candidate with 90.0 % probability.",
        "Amanita phalloides (Death Cap) is deadly and is a candidate with 6.0 % probability.",
    ]


def test_warnings_for_an_edible_top_species_with_toxic_lookalikes() -> None:
    warnings = edibility_warnings([("Cantharellus cibarius", 0.8), ("Hygrophoropsis aurantiaca", 0.15)])
    assert any(
        "dangerous look-alikes" in w and "Omphalotus olearius (Jack O'Lantern), poisonous" in w for w in warnings
    )
    grisette = edibility_warnings([("Amanita vaginata", 0.9)])
    assert grisette == [
        "Amanita vaginata (Grisette) has dangerous look-alikes: Amanita phalloides (Death Cap), DEADLY, "
        "Amanita virosa (Destroying Angel), DEADLY."
    ]
    assert any("could be confused with Hygrophoropsis aurantiaca (poisonous, 15.0 %)" in w for w in warnings)
    assert len(warnings) == len(set(warnings)) == 3


def test_no_warning_below_the_threshold() -> None:
    hedgehogs = [("Hydnum repandum", 0.9), ("Hydnum rufescens", 0.06), ("Amanita phalloides", 0.04)]
    assert edibility_warnings(hedgehogs) == []
    assert edibility_warnings([("Boletus edulis", 0.04), ("Amanita phalloides", 0.03)]) == []
    assert edibility_warnings([]) == []


def test_statuses_and_disclaimer() -> None:
    assert STATUSES[:5] == ("deadly", "poisonous", "inedible", "edible", "choice")
    assert [status for status in STATUSES if is_toxic(status)] == ["deadly", "poisonous"]
    assert "Never eat" in DISCLAIMER and "poison" in DISCLAIMER


@needs_shared(SOURCES)
def test_build_refuses_bad_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing"), str(tmp_path / "out.csv")]) == 2
    assert "champy: error:" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    for source in SOURCES.glob("*.csv"):
        (bad / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    kipz = (bad / "kipz_mycology.csv").read_text(encoding="utf-8").replace(",choice_edible,", ",delicious,", 1)
    (bad / "kipz_mycology.csv").write_text(kipz, encoding="utf-8")
    assert main([str(bad), str(tmp_path / "out.csv")]) == 2
    assert "'delicious' has no mapping" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ChampyError, match="cannot read the edibility table"):
        load_table(tmp_path / "none.csv")


SHIPPED_CARDS = sorted(Path(__file__).resolve().parent.parent.joinpath("models").glob("*_species.json"))


@pytest.mark.parametrize("card", SHIPPED_CARDS, ids=lambda path: path.stem)
def test_every_class_of_a_shipped_model_has_an_edibility_row(card: Path) -> None:
    import json

    data = json.loads(card.read_text(encoding="utf-8"))
    classes = [label["name"] for i, label in enumerate(data["labels"]) if i != data.get("other_index")]
    missing = [name for name in classes if lookup(name).status == "unknown"]
    assert not missing, f"{card.stem}: no edibility row for {missing}"


def test_every_named_lookalike_has_a_row() -> None:
    table = load_table()
    missing = {name for info in table.values() for name in info.lookalikes if name not in table}
    assert not missing


def test_deadly_only_with_documented_references() -> None:
    citations = references()
    deadly = [info for info in load_table().values() if info.status == "deadly"]
    assert {"Amanita phalloides", "Amanita virosa", "Galerina marginata", "Gyromitra esculenta"} <= {
        info.species for info in deadly
    }
    for info in deadly:
        assert info.reference and all(key in citations for key in info.reference), info.species
    satan = lookup("Rubroboletus satanas")  # rated deadly by kipz, but no fatal poisoning is documented
    assert satan.status == "poisonous" and "kipz:POISONOUS" in satan.sources


def test_a_source_deadly_verdict_without_a_curated_reference_stops_the_build() -> None:
    entry = SourceEntry(species="Fakea mortis", source="kipz", raw_value="DEADLY", status="deadly")
    with pytest.raises(ChampyError, match="Fakea mortis is rated deadly by a source but has no curated row"):
        build_rows([entry])
    curated = [e for e in read_curated() if e.species == "Amanita phalloides"]
    assert build_rows(curated)[0]["status"] == "deadly"


def test_curated_rows_need_known_references(tmp_path: Path) -> None:
    bad = tmp_path / "curated.csv"
    bad.write_text("species,status,common_name,lookalikes,reference,note\nAmanita x,deadly,,,Nobody2020,\n")
    with pytest.raises(ChampyError, match="needs references"):
        read_curated(bad)

"""The passage study's third model: strain identification (issue 22, point 10)."""

import json

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.cli import main
from napari_msc_morph.models import TASKS, get_task
from napari_msc_morph.synthetic import make_strain, strain_field, write_dataset
from napari_msc_morph.synthetic.strain import strain_population
from napari_msc_morph.training import TrainConfig
from napari_msc_morph.training.data import resolve_class_names
from napari_msc_morph.training.published import published_for
from napari_msc_morph.training.recipes import RECIPES, recipe_values


def test_strain_task_is_registered_and_takes_the_manifests_strains():
    task = TASKS.get("strain")
    assert task.classes_from_data and not task.ordinal and task.score is None
    table = pd.DataFrame({"label": ["UC10", "UC2", "UC1", "UC2", ""]})
    # the lab's own names, numbers read as numbers; an empty label is not a class
    assert resolve_class_names(table, task) == ("UC1", "UC2", "UC10")
    # fixed-class tasks keep their own list
    passage = pd.DataFrame({"label": ["P10", "P2", "P1"]})
    assert resolve_class_names(passage, get_task("passage")) == ("P1", "P2", "P10")


def test_strain_recipe_and_published_figure():
    config = TrainConfig(**recipe_values("strain-resnext"))
    assert (config.task, config.split_by, config.class_names) == ("strain", None, None)
    assert config.plateau_patience == 100 and config.early_stopping is None
    assert "§3.4.2" in RECIPES.get("strain-resnext").source
    published = published_for("strain")
    assert published.name == "strain-resnext" and published.metrics == {"accuracy": 0.929}
    assert published.evaluated_on == "validation"


def test_strains_differ_in_morphology_not_in_the_microscope():
    s1, s2 = make_strain(1), make_strain(2)
    assert (s1.donor_id, s2.donor_id) == ("S1", "S2")
    p1, p2 = strain_population(5, s1), strain_population(5, s2)
    traits = ("mean_area_um2", "spindle_aspect", "alignment", "processes", "spindle_taper")
    assert all(getattr(p1, t) != getattr(p2, t) for t in traits)
    # the same strain keeps its traits at every passage, only the passage changes them
    assert strain_population(5, s1) == p1
    # the microscope session is drawn per image: two images of one strain differ in background
    a = strain_field(5, s1, size=(96, 96), seed=1).image
    b = strain_field(5, s1, size=(96, 96), seed=2).image
    assert abs(float(np.median(a)) - float(np.median(b))) > 1.0


def test_synth_strain_writes_one_label_per_strain(tmp_path, capsys):
    out = tmp_path / "strains"
    assert main(["synth", "strain", "--out", str(out), "--n-donors", "2", "--per-class", "1",
                 "--size", "64", "64"]) == 0
    assert "2 strains x 10 passages x 1" in capsys.readouterr().out
    manifest = pd.read_csv(out / "manifest.csv")
    assert len(manifest) == 20
    assert (manifest["label"] == manifest["donor"]).all()
    assert sorted(set(manifest["label"])) == ["S1", "S2"]
    assert sorted(set(manifest["passage"])) == list(range(1, 11))
    again = write_dataset("strain", tmp_path / "again", n_donors=2, per_class=1, size=(64, 64))
    assert again["path"].tolist() == manifest["path"].tolist()


@pytest.fixture(scope="module")
def strain_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("strain_set")
    write_dataset("strain", out, n_donors=3, per_class=1, size=(96, 128))
    return out / "manifest.csv"


def test_a_tiny_strain_model_trains_and_predicts(strain_set, tmp_path):
    model = tmp_path / "model"
    assert main(["train", str(strain_set), "--recipe", "strain-resnext", "--no-pretrained",
                 "--backbone", "test_resnet", "--input-size", "32", "--epochs", "1",
                 "--crops-per-field", "1", "--device", "cpu", "--out", str(model)]) == 0
    config = json.loads((model / "model.json").read_text())
    assert config["task"] == "strain" and config["class_names"] == ["S1", "S2", "S3"]
    assert config["metrics"]["provenance"]["split_by"]["status"] == "Assumed"
    report = (tmp_path / "model.train" / "report" / "report.md").read_text()
    assert "Published (validation figures)" in report and "0.929" in report
    assert "Classes: which training strain an image comes from" in report
    table = tmp_path / "predictions.csv"
    first = strain_set.parent / pd.read_csv(strain_set)["path"][0]
    assert main(["predict", str(model), str(first), "--out", str(table), "--device", "cpu",
                 "--quiet"]) == 0
    predicted = pd.read_csv(table)
    assert {"p_S1", "p_S2", "p_S3"} <= set(predicted.columns)
    assert predicted["predicted_class"].iloc[0] in ("S1", "S2", "S3")

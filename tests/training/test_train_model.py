"""The engine entry points train_model / evaluate_model, their protocol, and the registries."""

import ast
import json
from pathlib import Path

import pytest

import napari_msc_morph.training as training
from napari_msc_morph.cli import build_parser
from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.models import DEVICES, load_bundle
from napari_msc_morph.training import (
    OPTIMIZERS,
    SCHEDULERS,
    TrainConfig,
    evaluate_model,
    train_model,
)
from napari_msc_morph.training.augment import CROPS
from napari_msc_morph.training.checkpoint import check_resume_compatible
from napari_msc_morph.training.crossval import CV_KEEP
from napari_msc_morph.training.optim import CLASS_WEIGHTS
from napari_msc_morph.training.recipes import RECIPES

BACKBONE = "test_resnet"


def _config(**kw):
    base = dict(task="passage", backbone=BACKBONE, input_size=64, epochs=1, batch_size=8,
                crops_per_field=1, downscale=4, device="cpu", val=1, test=1, lr=1e-3, seed=3)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(passage_set, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    steps, rows = [], []
    result = train_model(passage_set, _config(), out / "model",
                         progress=lambda d, t, m: steps.append((d, t, m)), on_epoch=rows.append)
    return result, steps, rows


def test_train_model_writes_the_test_report(trained):
    result, _, _ = trained
    report = result.work_dir / "report"
    for name in ("metrics.json", "predictions.csv", "confusion_matrix.png", "reliability.png"):
        assert (report / name).is_file(), name
    assert set(result.report_files) >= {"metrics", "predictions", "confusion_matrix"}
    evaluation = result.test_evaluation
    assert evaluation is not None and evaluation.metrics["split"] == "test"
    assert evaluation.metrics["n_images"] == 6  # one test donor x 2 classes x 3 fields
    assert json.loads((report / "metrics.json").read_text())["n_images"] == 6
    # the test numbers go into model.json beside the validation numbers
    metrics = load_bundle(result.bundle_path).config.metrics
    assert metrics["test_accuracy"] == pytest.approx(evaluation.metrics["accuracy"])
    assert "val_loss" in metrics and result.metrics["test_accuracy"] == metrics["test_accuracy"]


def test_train_model_reports_progress_and_epochs(trained):
    _, steps, rows = trained
    assert steps and all(0 <= d <= t for d, t, _ in steps)
    totals = {t for _, t, _ in steps}
    assert len(totals) == 1  # one bar for the whole run: reading, epochs, test report
    done = [d for d, _, _ in steps]
    assert done == sorted(done) and done[-1] == totals.pop()
    messages = " ".join(m for _, _, m in steps)
    assert "reading images" in messages and "epoch 1/1: batch" in messages
    assert "test split: predicting image" in messages
    assert [r["epoch"] for r in rows] == [1]
    assert rows[0]["epochs"] == 1 and "train_loss" in rows[0] and "val_loss" in rows[0]


def test_bundle_normalisation_comes_from_timm(trained):
    import timm
    import timm.data

    result, _, _ = trained
    config = load_bundle(result.bundle_path).config
    expected = timm.data.resolve_model_data_config(timm.create_model(BACKBONE))
    assert config.mean == pytest.approx(expected["mean"])
    assert config.std == pytest.approx(expected["std"])


def test_evaluate_model_writes_report_and_cancels(trained, tmp_path):
    result, _, _ = trained
    split_csv = result.work_dir / "split.csv"
    steps = []
    evaluation = evaluate_model(result.bundle_path, split_csv, out_dir=tmp_path / "val",
                                split="val", n_boot=20, device="cpu",
                                progress=lambda d, t, m: steps.append((d, t)))
    assert evaluation.metrics["split"] == "val" and evaluation.metrics["n_images"] == 6
    assert Path(evaluation.files["metrics"]).parent == tmp_path / "val"
    assert (tmp_path / "val" / "predictions.csv").is_file()
    assert steps == [(k, 6) for k in range(1, 7)]

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        evaluate_model(result.bundle_path, split_csv, out_dir=tmp_path / "cancelled",
                       split="val", device="cpu", cancel=token)
    assert not (tmp_path / "cancelled").exists()


def test_cancel_while_reading_images_leaves_no_bundle(passage_set, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled) as info:
        train_model(passage_set, _config(), tmp_path / "m", cancel=token)
    assert info.value.result.cancelled and info.value.result.bundle_path is None
    assert not (tmp_path / "m").exists()


def test_optimisers_and_schedules_come_from_registries():
    assert TrainConfig(task="passage", backbone=BACKBONE).scheduler == "none"
    assert TrainConfig(task="passage", backbone=BACKBONE, optimizer="sgd").scheduler == "plateau"
    config = TrainConfig(task="passage", backbone=BACKBONE, optimizer="SGD")
    assert config.learning_rate == OPTIMIZERS.entry("sgd").extra["lr"] == 1e-3
    with pytest.raises(BadInputError, match="unknown optimizer 'lion'.*adam, sgd"):
        TrainConfig(task="passage", backbone=BACKBONE, optimizer="lion")
    with pytest.raises(BadInputError, match="unknown scheduler"):
        TrainConfig(task="passage", backbone=BACKBONE, scheduler="step")
    with pytest.raises(BadInputError, match="Unknown device 'tpu'"):
        TrainConfig(task="passage", backbone=BACKBONE, device="tpu")


def test_cosine_schedule_decays_the_rate(passage_set, tmp_path):
    config = _config(epochs=2, scheduler="cosine", max_train_batches=1)
    result = train_model(passage_set, config, tmp_path / "m", test_report=False)
    lrs = result.history["lr"].tolist()
    assert lrs[0] == pytest.approx(1e-3) and lrs[1] == pytest.approx(0.5e-3)


def test_resume_accepts_a_run_saved_before_schedulers_existed():
    now = TrainConfig(task="passage", backbone=BACKBONE, optimizer="sgd")
    saved = now.to_dict()
    del saved["scheduler"]
    check_resume_compatible(saved, now)
    with pytest.raises(BadInputError, match="scheduler"):
        check_resume_compatible(saved, TrainConfig(task="passage", backbone=BACKBONE,
                                                   optimizer="sgd", scheduler="cosine"))


def _choices(command, option):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if option in a.option_strings).choices)


def test_cli_choices_are_the_registries():
    assert _choices("train", "--optimizer") == OPTIMIZERS.names()
    assert _choices("train", "--scheduler") == SCHEDULERS.names()
    assert _choices("train", "--device") == DEVICES.names()
    assert _choices("train", "--recipe") == RECIPES.names()
    assert _choices("evaluate", "--device") == DEVICES.names()
    assert _choices("train", "--crop") == CROPS.names() == ["random", "center"]
    assert _choices("train", "--class-weights") == CLASS_WEIGHTS.names() == ["none", "balanced"]
    assert _choices("train", "--cv-keep") == CV_KEEP.names() == ["best", "all"]


def _training_imports(path: Path) -> set:
    """Training modules ``path`` imports, at any depth (a function-level import counts)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 2 and node.module == "training":
            names.add("__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "napari_msc_morph.training"):
            parts = node.module.split(".")
            names.add(parts[2] if len(parts) > 2 else "__init__")
    return names


def test_no_import_cycle_between_training_modules():
    folder = Path(training.__file__).parent
    graph = {p.stem: _training_imports(p) for p in folder.glob("*.py") if p.stem != "__init__"}
    assert "loop" not in graph  # the 800-line module is gone
    for name, deps in graph.items():
        assert "__init__" not in deps, f"{name} imports the package; import the module instead"

    def visit(node, path):
        for dep in graph.get(node, ()):
            assert dep not in path, f"import cycle: {' -> '.join(path + [dep])}"
            visit(dep, path + [dep])

    for name in graph:
        visit(name, [name])
    for path in folder.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, path.name


def test_docs_tables_are_the_registries():
    page = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text("utf-8")
    for table in (OPTIMIZERS.markdown_table(), SCHEDULERS.markdown_table(),
                  DEVICES.markdown_table(), RECIPES.markdown_table()):
        indented = "\n".join("  " + line for line in table.splitlines())
        assert indented in page, f"docs/training.md is missing:\n{table}"
    assert "training.train()" not in page and "train_model()" in page


def test_evaluate_on_the_training_manifest_uses_the_bundles_recorded_split(trained,
                                                                            passage_set):
    result, _, _ = trained
    recorded = load_bundle(result.bundle_path).config.metrics["split_assignment"]
    assert recorded["by"] == "donor" and set(recorded["groups"].values()) == {
        "train", "val", "test"}
    # the manifest the model was trained on has no split column
    again = evaluate_model(result.bundle_path, passage_set, split="test", device="cpu",
                           n_boot=0)
    assert again.metrics["split_source"].startswith("split as recorded in the bundle (same")
    assert again.metrics["n_images"] == result.test_evaluation.metrics["n_images"]
    assert again.metrics["accuracy"] == pytest.approx(result.test_evaluation.metrics["accuracy"])
    assert sorted(again.predictions["path"]) == sorted(result.test_evaluation.predictions["path"])


def test_evaluate_split_file_overrides_and_cli_works_from_another_folder(trained, passage_set,
                                                                        tmp_path, monkeypatch,
                                                                        capsys):
    from napari_msc_morph.cli import main

    result, _, _ = trained
    split_csv = result.work_dir / "split.csv"
    by_file = evaluate_model(result.bundle_path, passage_set, split_file=split_csv,
                             device="cpu", n_boot=0)
    assert by_file.metrics["split_source"] == f"split from {split_csv}"
    assert by_file.metrics["n_images"] == result.test_evaluation.metrics["n_images"]
    # relative paths, from an unrelated working directory
    monkeypatch.chdir(tmp_path)
    bundle = Path(result.bundle_path)
    rel = lambda p: Path(__import__("os").path.relpath(p, tmp_path))  # noqa: E731
    assert main(["evaluate", str(rel(bundle)), str(rel(passage_set)), "--out", "report",
                 "--device", "cpu", "--n-boot", "0"]) == 0
    assert "recorded in the bundle" in capsys.readouterr().out
    assert (tmp_path / "report" / "metrics.json").is_file()

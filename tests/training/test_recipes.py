"""Training recipes: the studies' setups as data, `train --recipe`, `msc-morph recipes`, offline weights."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from napari_msc_morph.cli import main
from napari_msc_morph.commands import train as train_command
from napari_msc_morph.models import create_backbone, load_bundle
from napari_msc_morph.training import TrainConfig
from napari_msc_morph.training.recipes import RECIPES, recipe_values

BACKBONE = "test_resnet"
#: tiny run settings that override a recipe's backbone and size for speed
TINY = ["--backbone", BACKBONE, "--input-size", "32", "--epochs", "1", "--downscale", "4",
        "--crops-per-field", "1", "--val", "1", "--test", "1", "--device", "cpu",
        "--no-report"]

#: the papers' setups (issue 14): recipe -> values the registry must hold
PUBLISHED = {
    "passage-resnext": dict(task="passage", backbone="resnext50_32x4d", input_size=448,
                            optimizer="sgd", lr=1e-3, momentum=0.9, batch_size=8,
                            scheduler="plateau", monitor="val_accuracy", tiling="six",
                            pretrained=True, plateau_patience=100, early_stopping=None,
                            split_by="donor", val=2, test=2),
    "strain-resnext": dict(task="strain", backbone="resnext50_32x4d", optimizer="sgd",
                           scheduler="plateau", plateau_patience=100, early_stopping=None,
                           split_by=None, class_names=None, pretrained=True),
    "source-resnext": dict(task="source", backbone="resnext50_32x4d", input_size=448,
                           optimizer="adam", lr=1e-5, batch_size=8, epochs=150, crop="center",
                           tiling="center", pretrained=True, test=0.3, early_stopping=None),
    "osteonet": dict(task="osteogenic", backbone="resnet50", class_names=("control", "induced"),
                     monitor="val_auc", pretrained=True),
    "nsc-resnet50-binary": dict(task="nsc_fate", backbone="resnet50",
                                class_names=("neuron", "glia"), pretrained=True),
    "nsc-resnet50-multiclass": dict(task="nsc_fate", backbone="resnet50",
                                    class_names=("neuron", "astrocyte", "oligodendrocyte"),
                                    pretrained=True),
}


def test_registry_holds_the_published_setups():
    assert RECIPES.names() == list(PUBLISHED)
    for name, expected in PUBLISHED.items():
        recipe = RECIPES.get(name)
        assert {k: getattr(recipe, k) for k in expected} == expected, name
        assert recipe.source and RECIPES.help(name)
        config = TrainConfig(**recipe_values(name))
        assert config.recipe == name
    source = TrainConfig(**recipe_values("source-resnext")).augment
    assert source.hflip and source.vflip and source.rotation_deg > 0 and source.translate > 0
    assert source.brightness > 0 and source.contrast > 0
    assert "Assumed" in {p.status for _, p in RECIPES.get("osteonet").provenance}


def test_cli_choices_are_the_registry():
    parser = train_command.add_parser(__import__("argparse").ArgumentParser().add_subparsers())
    action = next(a for a in parser._actions if a.dest == "recipe")
    assert list(action.choices) == RECIPES.names()


def _args(*argv):
    import argparse

    parser = train_command.add_parser(argparse.ArgumentParser().add_subparsers())
    return parser.parse_args(["m.csv", "--out", "model", *argv])


def test_given_options_override_the_recipe_and_defaults_do_not():
    config = train_command.config_from_args(_args("--recipe", "passage-resnext"))
    assert (config.optimizer, config.learning_rate, config.resolved_momentum) == ("sgd", 1e-3, 0.9)
    assert (config.batch_size, config.monitor, config.scheduler) == (8, "val_accuracy", "plateau")
    assert config.pretrained and config.recipe == "passage-resnext"
    config = train_command.config_from_args(_args(
        "--recipe", "passage-resnext", "--lr", "0.01", "--batch-size", "4", "--momentum", "0.5",
        "--monitor", "val_loss", "--no-pretrained", "--input-size", "64"))
    assert (config.learning_rate, config.batch_size, config.resolved_momentum) == (0.01, 4, 0.5)
    assert (config.monitor, config.pretrained, config.input_size) == ("val_loss", False, 64)
    assert config.scheduler == "plateau" and config.backbone == "resnext50_32x4d"
    # another optimiser brings its own rate and schedule
    config = train_command.config_from_args(_args("--recipe", "passage-resnext",
                                                  "--optimizer", "adam"))
    assert (config.learning_rate, config.scheduler) == (1e-5, "none")
    # without a recipe: the old defaults
    config = train_command.config_from_args(_args("--task", "passage"))
    assert (config.optimizer, config.batch_size, config.pretrained, config.recipe) == (
        "adam", 16, False, None)


def test_recipes_command_lists_every_recipe(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["recipe", "task", "backbone", "size", "optimizer/lr", "batch", "scheduler"]
    for name in RECIPES:
        assert f"\n{name} " in out and f"{name}: {RECIPES.get(name).source}" in out
    assert "sgd 0.001 m0.9" in out and "adam 1e-05" in out and "448 px center" in out
    assert "plateau on val_accuracy (patience 100), <= 300 epochs, no early stop" in out


def test_recipe_without_weights_offline_fails_before_any_work(passage_set, tmp_path, capsys):
    out = tmp_path / "model"
    before = passage_set.read_bytes()
    code = main(["train", str(passage_set), "--recipe", "passage-resnext", "--out", str(out),
                 *TINY])
    assert code == 2
    err = capsys.readouterr().err
    assert "test_resnet" in err and "--weights" in err and "--no-pretrained" in err
    assert "offline" in err
    assert not out.exists() and not (tmp_path / "model.train").exists()
    assert passage_set.read_bytes() == before


def _imagenet_file(tmp_path, seed=5):
    torch.manual_seed(seed)
    net = create_backbone(BACKBONE, num_classes=1000)  # pretrained=False: nothing downloaded
    path = tmp_path / "imagenet.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    return path


def test_passage_recipe_writes_every_resolved_hyperparameter(passage_set, tmp_path):
    weights = _imagenet_file(tmp_path)
    out = tmp_path / "model"
    assert main(["train", str(passage_set), "--recipe", "passage-resnext", "--out", str(out),
                 "--weights", str(weights), *TINY]) == 0
    metrics = json.loads((out / "model.json").read_text())["metrics"]
    assert metrics["recipe"] == "passage-resnext"
    assert (metrics["optimizer"], metrics["lr"], metrics["momentum"]) == ("sgd", 1e-3, 0.9)
    assert (metrics["batch_size"], metrics["scheduler"], metrics["monitor"]) == (
        8, "plateau", "val_accuracy")
    assert (metrics["epochs"], metrics["input_size"], metrics["crop"]) == (1, 32, "random")
    assert metrics["tiling"] == "six" and metrics["backbone"] == BACKBONE
    assert metrics["pretrained"] == f"file {weights}"


def test_local_weights_are_the_starting_point(passage_set, tmp_path):
    """One epoch at lr ~0 leaves the body at the file's weights; normalisation is timm's."""
    from timm.data import resolve_model_data_config

    weights = _imagenet_file(tmp_path)
    out = tmp_path / "model"
    assert main(["train", str(passage_set), "--recipe", "source-resnext", "--out", str(out),
                 "--weights", str(weights), "--lr", "1e-30", "--task", "passage",
                 *TINY]) == 0
    bundle = load_bundle(out)
    saved = load_file(weights)
    trained = bundle.model.state_dict()
    stem = next(k for k in saved if k.endswith("weight") and saved[k].ndim == 4)
    assert torch.allclose(trained[stem], saved[stem], atol=1e-6)
    scratch = create_backbone(BACKBONE, num_classes=2)
    assert not torch.allclose(scratch.state_dict()[stem], saved[stem])
    config = resolve_model_data_config(bundle.model)
    assert bundle.config.mean == pytest.approx(tuple(config["mean"]))
    assert bundle.config.std == pytest.approx(tuple(config["std"]))
    metrics = bundle.config.metrics
    assert (metrics["recipe"], metrics["crop"], metrics["optimizer"]) == (
        "source-resnext", "center", "adam")


def test_no_pretrained_trains_from_scratch_offline(passage_set, tmp_path):
    out = tmp_path / "model"
    assert main(["train", str(passage_set), "--recipe", "passage-resnext", "--out", str(out),
                 "--no-pretrained", *TINY]) == 0
    metrics = load_bundle(out).config.metrics
    assert metrics["pretrained"] == "none (trained from scratch)"


# ---------------------------------------------------------------- issue 22, point 8
def test_every_recipe_value_says_where_it_comes_from():
    """Each value a recipe sets has a provenance; a recipe missing one cannot be built."""
    from dataclasses import replace

    from napari_msc_morph.training.recipes import ASSUMED, STATUSES

    for name in RECIPES:
        recipe = RECIPES.get(name)
        values = recipe.config_values()
        names = {k for k in values if k != "augment"}
        names |= {f"augment.{k}" for k, _ in recipe.augment} or {"augment"}
        provenance = recipe.provenance_dict()
        assert set(provenance) == names, name
        assert {p["status"] for p in provenance.values()} <= set(STATUSES)
        assert all(p["note"] for p in provenance.values())
        assert ASSUMED in {p["status"] for p in provenance.values()}, name
    with pytest.raises(ValueError, match="provenance missing.*momentum"):
        passage = RECIPES.get("passage-resnext")
        replace(passage, provenance=tuple(p for p in passage.provenance if p[0] != "momentum"))


def _status(recipe, key):
    return RECIPES.get(recipe).provenance_dict()[key]["status"]


def test_values_the_papers_do_not_state_are_marked_assumed():
    # passage model: SGD, lr 1e-3, batch 8, x0.1 on validation accuracy are stated (§3.4.2) ...
    for key in ("optimizer", "lr", "batch_size", "scheduler", "monitor", "val", "test"):
        assert _status("passage-resnext", key) == "stated", key
    # ... momentum, depth, 448 px, ImageNet, the patience's unit and the epoch count are not
    for key in ("momentum", "backbone", "input_size", "pretrained", "plateau_patience",
                "epochs", "early_stopping", "tiling"):
        assert _status("passage-resnext", key) == "Assumed", key
    notes = RECIPES.get("passage-resnext").provenance_dict()
    assert "within 100 times" in notes["plateau_patience"]["note"]
    assert "epoch" in notes["plateau_patience"]["note"]
    # source model: Adam 1e-5, batch 8, 448 px centre crop, ~150 epochs stated (§3.4.3) ...
    for key in ("optimizer", "lr", "batch_size", "input_size", "crop", "epochs", "test",
                "augment.hflip"):
        assert _status("source-resnext", key) == "stated", key
    # ... rotation range, vertical flip, channel gain, jitter strengths, early stop are not
    for key in ("augment.rotation_deg", "augment.vflip", "augment.channel_gain",
                "augment.brightness", "augment.translate", "early_stopping"):
        assert _status("source-resnext", key) == "Assumed", key


def test_labels_the_papers_do_not_define_are_this_tools():
    from napari_msc_morph.models import get_task

    assert _status("osteonet", "class_names") == "defined by this tool"
    assert _status("nsc-resnet50-binary", "class_names") == "defined by this tool"
    assert _status("nsc-resnet50-multiclass", "class_names") == "defined by this tool"
    assert "this tool's definition" in get_task("osteogenic").label_definition
    assert "this tool's definition" in get_task("nsc_fate").label_definition
    assert "§3.4.2" in get_task("passage").label_definition


def test_recipes_command_marks_every_assumed_value(capsys):
    assert main(["recipes", "--name", "passage-resnext"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines()
             if line.startswith("  ") and len(line.split()) > 1 and line.split()[0] == "Assumed"}
    for key in ("momentum", "backbone", "input_size", "pretrained", "plateau_patience"):
        assert key in lines, key
    assert "plateau_patience = 100" in lines["plateau_patience"]
    assert "stated               lr = 0.001" in out


def test_plateau_patience_is_an_option_and_reaches_the_schedule():
    from napari_msc_morph.training.optim import build_scheduler

    config = train_command.config_from_args(_args("--task", "passage", "--optimizer", "sgd",
                                                  "--plateau-patience", "7"))
    assert config.plateau_patience == 7
    net = torch.nn.Linear(2, 2)
    scheduler = build_scheduler(config, torch.optim.SGD(net.parameters(), lr=0.1))
    assert scheduler.patience == 7 and scheduler.factor == pytest.approx(0.1)
    # the passage recipe's own patience, unless overridden
    config = train_command.config_from_args(_args("--recipe", "passage-resnext"))
    assert config.plateau_patience == 100
    config = train_command.config_from_args(_args("--recipe", "passage-resnext",
                                                  "--plateau-patience", "5"))
    assert config.plateau_patience == 5
    with pytest.raises(Exception, match="--plateau-patience"):
        TrainConfig(task="passage", plateau_patience=-1)


def test_the_passage_schedule_is_not_cut_by_early_stopping():
    from napari_msc_morph.training.optim import schedule_warnings

    config = TrainConfig(**recipe_values("passage-resnext"))
    assert config.early_stopping is None and config.epochs > 2 * config.plateau_patience
    assert schedule_warnings(config) == []
    # the old recipe (early stop 10, <= 30 epochs, patience 3 -> now 100) could never reach it
    cut = TrainConfig(**{**recipe_values("passage-resnext"), "early_stopping": 10,
                         "epochs": 30})
    found = schedule_warnings(cut)
    assert len(found) == 2 and "--patience" in found[0] and "--epochs" in found[1]


def test_model_json_records_the_provenance_of_each_value(passage_set, tmp_path):
    out = tmp_path / "model"
    assert main(["train", str(passage_set), "--recipe", "passage-resnext", "--out", str(out),
                 "--no-pretrained", *TINY]) == 0
    metrics = json.loads((out / "model.json").read_text())["metrics"]
    provenance = metrics["provenance"]
    assert provenance["momentum"]["status"] == "Assumed"
    assert provenance["lr"]["status"] == "stated"
    assert provenance["plateau_patience"]["status"] == "Assumed"
    assert (metrics["plateau_patience"], metrics["early_stopping"]) == (100, None)
    # what the run changed is marked as such, with the recipe's value
    assert provenance["epochs"] == {"status": "set for this run",
                                    "note": "the recipe's value was 300"}
    assert provenance["pretrained"]["status"] == "set for this run"
    # too few epochs for the schedule: said in model.json's warnings
    assert any("--plateau-patience" in w for w in metrics["warnings"])

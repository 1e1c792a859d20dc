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
                            pretrained=True),
    "source-resnext": dict(task="source", backbone="resnext50_32x4d", input_size=448,
                           optimizer="adam", lr=1e-5, batch_size=8, epochs=150, crop="center",
                           tiling="center", pretrained=True),
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
    assert "Assumed" in RECIPES.get("osteonet").source


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

"""The Train dock's tooltips in plain words (docs/widgets/train.md gives reasons and sources)."""

from __future__ import annotations

from qtpy.QtWidgets import QWidget

__all__ = ["TIPS", "tip"]


def tip(widget, text: str):
    """Set a plain-words tooltip on ``widget`` (a Qt widget or a magicgui FileEdit) and its parts."""
    native = getattr(widget, "native", widget)
    for part in [native, *native.findChildren(QWidget)]:
        part.setToolTip(text)
    return widget


#: Tooltips of the form (plain words; the docs page explains each choice with its source).
TIPS = {
    "source": "Where the training images come from: a manifest file listing images with their "
              "labels and donors, or the image layers open in napari (each plane of a stack, "
              "such as the sample passage series or osteogenic time course, is one image).",
    "manifest": "A table (CSV/TSV/XLSX) with one row per image: path, label (the class), donor; "
                "optional day, passage, condition, split.",
    "layer_table": "One row per image (each plane of a stack is an image): type its label (the "
                   "class it shows) and its donor. Images of one donor stay in one split, so "
                   "the test measures cells the model never saw.",
    "refresh": "Re-read the open image layers into the table (typed labels are kept).",
    "recipe": "A published training setup: it fills the fields with the study's values, which "
              "you can still change. 'custom' gives back your own values.",
    "task": "What the model learns to tell apart: passage (P1-P10), tissue source, osteogenic "
            "induction (control vs induced) or neural fate.",
    "backbone": "The network that turns an image into features (a timm name). Small ones "
                "(resnet10t, resnet18) train in minutes on a laptop; the studies' large ones "
                "(resnext50_32x4d, resnet50) need a GPU.",
    "pretrained": "Start from weights learned on everyday photos (ImageNet): needs far fewer "
                  "of your images; the weights file below, timm's cache or a download.",
    "epochs": "How many times training goes through all training images (the best epoch on "
              "the validation images is kept).",
    "device": "Where the network runs: auto takes a GPU when there is one, else the CPU.",
    "out": "The model folder (or .zip) to write; the Predict dock loads it.",
    "classes": "The class names, in order for ordered tasks (e.g. P1, P4, P7, P10); empty: the "
               "task's classes found in the labels.",
    "weights": "An ImageNet weights file (.safetensors) for computers without internet.",
    "input_size": "Side of the square crop the network sees, in pixels (the studies: 448).",
    "batch_size": "Images per training step; lower it if the computer runs out of memory.",
    "downscale": "Read images at 1/N resolution (faster on a CPU); prediction reads them the "
                 "same way.",
    "optimizer": "How the weights are updated after each batch: adam or sgd (with momentum).",
    "lr": "Learning rate: how big each update step is. Too high diverges, too low learns "
          "nothing; empty: the optimizer's default.",
    "scheduler": "Learning-rate schedule: how the rate changes during training (plateau: lower "
                 "it when validation stops improving; cosine: lower it smoothly).",
    "resume": "Continue a run that was stopped, from its last saved epoch.",
    "class_weights": "balanced: rare classes weigh as much as common ones in the loss "
                     "(weights from the training split).",
    "folds": "Cross-validation: train K models, each tested on donors it never saw, to see "
             "how much the result depends on which donors are tested (1 = one model).",
    "keep_all_folds": "Keep every fold's model instead of the best fold's only.",
    "report_button": "Open the test report's plots (ROC per day, reliability, confusion) in "
                     "their own dock.",
}

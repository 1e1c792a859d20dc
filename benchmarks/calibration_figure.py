"""The docs' before/after reliability figure: temperature scaling on held-out donors.

Synthetic osteogenic time course (control vs induced at days 0, 5, 14; 10
donors: 6 train, 2 validation, 2 test; the fields of ``learning_proof.py``),
``resnet10t`` from scratch at 96 px for a few CPU minutes. The temperature is
fitted on the two validation donors; the figure is the test report's
``reliability.png`` (test donors only, never used for the fit), copied to
``docs/images/training_calibration.png``.

    python benchmarks/calibration_figure.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    from napari_msc_morph.models import read_bundle_config
    from napari_msc_morph.training import TrainConfig, train_model

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from learning_proof import write_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the run here")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        manifest = write_set("osteogenic", root / "data", n_donors=10, per_class=2,
                             size=(972, 1296), seed=0)
        config = TrainConfig(task="osteogenic", backbone="resnet10t", input_size=96,
                             epochs=args.epochs, batch_size=32, crops_per_field=4, downscale=4,
                             device="cpu", val=2, test=2, lr=1e-3, seed=0, early_stopping=None)
        result = train_model(manifest, config, root / "model")
        calibration = read_bundle_config(result.bundle_path).calibration
        m = result.test_evaluation.metrics
        print(json.dumps({"calibration": calibration, "test_ece_before": m["ece_uncalibrated"],
                          "test_ece_after": m["ece"], "test_accuracy": m["accuracy"],
                          "test_auc": m.get("auc")}, default=str))
        shutil.copy(result.report_files["reliability"],
                    ROOT / "docs" / "images" / "training_calibration.png")


if __name__ == "__main__":
    main()

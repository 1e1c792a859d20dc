"""The "Study" dock: a folder of fields -> tidy per-cell, per-field and per-sample tables.

Runs :func:`napari_msc_morph.batch.study.run_study` (as ``msc-morph study``); a field opens
in the viewer only when double-clicked, and a Group by key adds the size-robustness table.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import (
    QAbstractScrollArea,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QTableWidget,
)

from ..errors import BadInputError, MscMorphError
from ..io import read_image
from ..morphology.summary import THRESHOLD_LEARNERS
from ._backend_row import backend_row
from ._panel import JobDock
from ._table_view import combo, file_row, fill_table_widget, line_edit

#: Columns the fields table shows (the rest is in fields.csv).
SHOWN_COLUMNS = ("field", "n_cells", "area_um2_median", "area_px_median", "pixel_size_um")
#: The Group by entry that asks for no size-robustness table.
NO_GROUP = "none"
#: Output folder inside the image folder when the user gives none.
DEFAULT_OUT = "msc-morph-study"
#: Longest file or field name the dock shows whole (microscope names run to 60+ characters,
#: and an unbroken name would widen the dock past a laptop screen).
SHOWN_NAME = 36
#: Widest a fields-table column gets (px); the rest of a long name is elided.
MAX_COLUMN_WIDTH = 180


def _short(name: str) -> str:
    """``IXMtest_A02_s1_w1051DAA7C-7042-435F-99F0-1E847D9B42CB.tif`` -> its start and end."""
    if len(name) <= SHOWN_NAME:
        return name
    keep = (SHOWN_NAME - 1) // 2
    return f"{name[:keep]}…{name[-keep:]}"


def _table(tooltip: str, min_height: int) -> QTableWidget:
    """A table that scrolls long names inside itself instead of widening the dock."""
    table = QTableWidget()
    table.setToolTip(tooltip)
    table.setMinimumHeight(min_height)
    table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustIgnored)
    table.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
    return table


def _pairs(text: str, what: str) -> dict:
    """``RUNX2=2, OCN=OCN`` -> ``{"RUNX2": "2", "OCN": "OCN"}``."""
    pairs = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise BadInputError(f"{what}: write NAME=CHANNEL pairs separated by commas "
                                f"(e.g. RUNX2=2, OCN=OCN); {part!r} is not one.")
        if name.strip() in pairs:
            raise BadInputError(f"{what}: {name.strip()!r} is given twice.")
        pairs[name.strip()] = value.strip()
    return pairs


class StudyWidget(JobDock):
    """Segment and measure every field of a folder into the study's tidy tables."""

    job_title = "Study"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.study = None
        self._opened: set[str] = set()  # fields already opened in the viewer

        self.folder = line_edit(
            self, "folder of images (or a glob: plate1/*.tif)",
            "The study's images: every image file in this folder and its sub-folders, or a "
            "glob such as plate1/*_DAPI.tif.")
        self.pattern = line_edit(
            self, "{donor}_{condition}_day{day}_{field}.tif",
            "What each file name says, with {key} for each part that names the sample "
            "(donor, day, condition, ...) and * for parts to ignore. The line below shows "
            "what the first file gives. Leave empty with a sample sheet or without keys.")
        self.sheet = line_edit(
            self, "optional: samples.csv with file, donor, day, ... columns",
            "A sample sheet (CSV or Excel): a 'file' column (relative to the sheet) and one "
            "column per key. Instead of a pattern.")
        self.preview = QLabel("")
        self.preview.setWordWrap(True)
        self.dna = line_edit(
            self, "auto (a channel named DAPI/Hoechst; RGB: the colour with signal)",
            "The channel with the DNA stain (DAPI, Hoechst), by index (0, 1, ...) or name. "
            "Nuclei are found in it.")
        self.cytoplasm = line_edit(
            self, "none: nuclei only",
            "The channel of a cytoplasm or actin stain (e.g. phalloidin): whole cells are "
            "grown from the nuclei over it.")
        self.markers = line_edit(
            self, "RUNX2=2, OCN=3",
            "Markers to measure, NAME=CHANNEL separated by commas. Table columns are named by "
            "NAME (RUNX2_mean), the same in every file.")
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setRange(0.0, 20.0)
        self.pixel_size.setDecimals(4)
        self.pixel_size.setSpecialValueText("from each file")
        self.pixel_size.setSuffix(" µm/px")
        self.pixel_size.setToolTip("One pixel size for every field, in µm per pixel (from the "
                                   "microscope). Leave at 'from each file' to read it from the "
                                   "files' metadata.")
        self.marker_threshold = combo(
            self, THRESHOLD_LEARNERS.names(),
            "How each marker's positive-cell threshold is learnt, once for the whole study "
            "from every cell:\n" + "\n".join(f"{n}: {THRESHOLD_LEARNERS.help(n)}"
                                            for n in THRESHOLD_LEARNERS))
        self.control = line_edit(
            self, "condition=control",
            "Which fields are negative controls (KEY=VALUE), for the 'control' threshold.")
        # as the Segment dock: cellpose when installed, and the device it runs on
        backends, self.backend, self.device = backend_row(
            "How nuclei and cells are found: 'classic' (threshold and watershed) or "
            "'cellpose' (a learned model; the size-robustness table needs 'classic').")
        self.group_by = combo(
            self, [NO_GROUP],
            "A key from the file names or the sample sheet (e.g. condition): adds the size-"
            "robustness table, each group's median nuclear area under four thresholds (Otsu, "
            "Li, triangle, one for the whole study) as a ratio to the first group (to the "
            "Controls group when it names the same key). A ratio that moves with the "
            "threshold is an artefact of thresholding, not biology. The keys appear once the "
            "file names or sheet are read.")
        self.out = line_edit(
            self, f"<image folder>/{DEFAULT_OUT}",
            "Where the tables (cells.csv, fields.csv, samples.csv) and label images go. "
            "Running again processes only new or changed fields.")

        form = QFormLayout()
        form.addRow("Images", file_row(self.folder, self._browse_folder, self))
        form.addRow("File names", self.pattern)
        form.addRow("", self.preview)
        form.addRow("Sample sheet", file_row(self.sheet, self._browse_sheet, self))
        form.addRow("DNA channel", self.dna)
        form.addRow("Cytoplasm", self.cytoplasm)
        form.addRow("Markers", self.markers)
        form.addRow("Pixel size", self.pixel_size)
        form.addRow("Marker threshold", self.marker_threshold)
        form.addRow("Controls", self.control)
        form.addRow("Backend", backends)
        form.addRow("Group by", self.group_by)
        form.addRow("Output folder", self.out)
        layout = self.build_run_panel(form, "Run study")
        self.fields_table = _table(
            "One row per field; double-click to open it in the viewer.", 120)
        self.fields_table.horizontalHeader().setMaximumSectionSize(MAX_COLUMN_WIDTH)
        self.fields_table.setWordWrap(False)
        self.fields_table.cellDoubleClicked.connect(self.open_field)
        layout.addWidget(self.fields_table)
        self.robustness_label = QLabel("")
        self.robustness_label.setWordWrap(True)
        self.robustness_table = _table(
            "Median nuclear area (px) per group under each nuclear threshold, and its ratio "
            "to the reference group; also in threshold_robustness.csv.", 100)
        for widget in (self.robustness_label, self.robustness_table):
            widget.setVisible(False)
            layout.addWidget(widget)
        for edit in (self.folder, self.pattern, self.sheet):
            edit.editingFinished.connect(self.update_preview)

    # ----------------------------------------------------------------- inputs
    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of the study's images")
        if folder:
            self.folder.setText(folder)
            self.update_preview()

    def _browse_sheet(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sample sheet", "",
                                              "Tables (*.csv *.tsv *.xlsx)")
        if path:
            self.sheet.setText(path)
            self.update_preview()

    def _fields(self):
        from ..batch.study_design import study_fields

        folder = self.folder.text().strip()
        sheet = self.sheet.text().strip() or None
        if not folder and sheet is None:
            raise BadInputError("Choose the folder of the study's images (or a sample sheet).")
        return study_fields([folder] if folder else [], pattern=self.pattern.text().strip()
                            or None, sheet=sheet, out_dir=self._out_dir())

    def update_preview(self) -> None:
        """Say how many files there are and what the first one's name gives."""
        from ..batch.study_design import sample_keys

        if not (self.folder.text().strip() or self.sheet.text().strip()):
            self.preview.setText("")
            return
        try:
            fields = self._fields()
        except (MscMorphError, OSError) as err:
            self.preview.setText(str(err))
            return
        self._offer_group_keys(sample_keys(fields))
        first = fields[0]
        keys = ", ".join(f"{k}={v}" for k, v in first.keys.items()) or "no keys"
        self.preview.setText(f"{len(fields)} file(s); {_short(Path(first.path).name)} → {keys}")
        self.preview.setToolTip(f"{first.path} → {keys}")

    def _offer_group_keys(self, keys: list[str]) -> None:
        """Offer the study's sample keys under Group by, keeping the choice when it remains."""
        chosen = self.group_by.currentText()
        self.group_by.clear()
        self.group_by.addItems([NO_GROUP, *keys])
        if chosen in keys:
            self.group_by.setCurrentText(chosen)

    def _options(self) -> dict:
        control = _pairs(self.control.text(), "Controls")
        if len(control) > 1:
            raise BadInputError("Controls: give one KEY=VALUE (e.g. condition=control).")
        return dict(out_dir=self._out_dir(), dna=self.dna.text().strip() or None,
                    cytoplasm=self.cytoplasm.text().strip() or None,
                    markers=_pairs(self.markers.text(), "Markers"),
                    pixel_size_um=self.pixel_size.value() or None,
                    marker_threshold=self.marker_threshold.currentText(),
                    control=next(iter(control.items()), None),
                    backend=self.backend.currentText(), device=self.device.currentText(),
                    group_by=None if self.group_by.currentIndex() <= 0
                    else self.group_by.currentText())

    def _out_dir(self) -> Path:
        """The output folder; by default ``<image folder>/msc-morph-study``."""
        if self.out.text().strip():
            return Path(self.out.text().strip())
        given = Path(self.folder.text().strip() or self.sheet.text().strip())
        while not given.is_dir() and given != given.parent:
            given = given.parent
        return given / DEFAULT_OUT

    # -------------------------------------------------------------------- run
    def run(self):
        """Run the study in a worker; the tables arrive in :meth:`_on_done`."""
        try:
            fields = self._fields()
            options = self._options()
        except (MscMorphError, OSError) as err:
            self.report_error(err)
            return None

        def job(progress, cancel):
            # imported here, in the worker: segmentation's libraries never freeze the viewer
            from ..batch.study import run_study

            return run_study(fields, **options, progress=progress, cancel=cancel)

        return self.start_job(
            job,
            self._on_done,
            status=f"Segmenting and measuring {len(fields)} field(s)…",
        )

    def _on_done(self, study) -> None:
        self.study, self._opened = study, set()
        shown = [c for c in SHOWN_COLUMNS if c in study.fields.columns]
        fill_table_widget(self.fields_table, study.fields[[shown[0], *study.keys, *shown[1:]]])
        failed = f", {len(study.failures)} failed (errors.csv)" if study.failures else ""
        samples = f", {len(study.samples)} samples" if not study.samples.empty else ""
        # one line; the details (warnings, the full folder) on hover
        warnings = (f" {len(study.warnings)} warning(s): hover for details."
                    if study.warnings else "")
        self.status.setText(f"{len(study.cells)} cells in {len(study.fields)} fields{samples}"
                            f"{failed} ({study.n_new} new) → {study.out_dir.name}/.{warnings}")
        self.status.setToolTip("\n".join([f"Tables in {study.out_dir}", *study.warnings]))
        self._show_robustness(study.robustness)

    def _show_robustness(self, table) -> None:
        """The size-robustness table under the fields, or nothing without a group key."""
        shown = table is not None
        self.robustness_label.setVisible(shown)
        self.robustness_table.setVisible(shown)
        if not shown:
            return
        ratio = next(c for c in table.columns if c.startswith("ratio_to_"))
        spread = table.groupby("group")[ratio].agg(["min", "max"])
        moved = (spread["max"] - spread["min"]).max()
        self.robustness_label.setText(
            f"Size robustness by {self.group_by.currentText()}: the median-area {ratio.replace('_', ' ')} "
            f"moves by up to {moved:.2f} across thresholds (threshold_robustness.csv).")
        fill_table_widget(self.robustness_table, table.round(3))

    def open_field(self, row: int, _column: int = 0) -> None:
        """Open one field's image and its labels in the viewer (once)."""
        if self.study is None or not 0 <= row < len(self.study.fields):
            return
        record = self.study.fields.iloc[row]
        name, path = str(record["field"]), str(record["file"])
        if name in self._opened:
            return
        try:
            images = self.viewer.open(path, plugin="napari-msc-morph")
            # on the image: its scale and units
            place = ({"scale": tuple(images[0].scale[-2:]), "units": tuple(images[0].units[-2:])}
                     if images else {})
            for path in sorted((self.study.out_dir / "labels").glob(f"{name}_*.tif")):
                self.viewer.add_labels(read_image(path).data, name=path.stem, **place)
        except (MscMorphError, OSError) as err:
            self.report_error(err)
            return
        self._opened.add(name)

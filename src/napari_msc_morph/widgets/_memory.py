"""Docks remember their last settings for as long as their viewer lives.

One mechanism for every :class:`~._panel.JobDock`: when a dock finishes
building (its most-derived ``__init__`` returns), the values of its form
fields -- the ``QComboBox``, ``QSpinBox``/``QDoubleSpinBox``, ``QLineEdit``,
``QCheckBox`` and magicgui ``FileEdit`` attributes of the dock -- are restored
from the store, and from then on every change is written back. The store is a
dict keyed by ``(id(viewer), dock class name)``; an entry is dropped when its
viewer is garbage-collected, so nothing leaks into the next viewer and nothing
is written to disk. Closing a dock and opening it again in the same viewer, or
creating a second instance, brings the fields back.

A dock names attributes that must not be restored (values that follow the
data, such as a pixel size read from the selected layer) in
``JobDock.not_remembered``.
"""

from __future__ import annotations

import weakref

from qtpy.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

#: (id(viewer), dock class name) -> {attribute name: value}
_STORE: dict[tuple[int, str], dict[str, object]] = {}
#: id(viewer) -> its finalizer (one per viewer)
_WATCHED: dict[int, weakref.finalize] = {}


def _forget_viewer(viewer_id: int) -> None:
    for key in [k for k in _STORE if k[0] == viewer_id]:
        del _STORE[key]
    _WATCHED.pop(viewer_id, None)


def _key(dock) -> tuple[int, str] | None:
    viewer = getattr(dock, "viewer", None)
    if viewer is None:
        return None
    viewer_id = id(viewer)
    if viewer_id not in _WATCHED:
        try:
            _WATCHED[viewer_id] = weakref.finalize(viewer, _forget_viewer, viewer_id)
        except TypeError:  # not weak-referenceable: remember nothing rather than leak
            return None
    return viewer_id, type(dock).__name__


def _fields(dock) -> dict[str, object]:
    from magicgui.widgets import FileEdit

    skip = set(getattr(dock, "not_remembered", ()))
    kinds = (QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit, QCheckBox, FileEdit)
    return {name: value for name, value in vars(dock).items()
            if not name.startswith("_") and name not in skip and isinstance(value, kinds)}


def _read(field):
    if isinstance(field, QComboBox):
        return field.currentText()
    if isinstance(field, (QSpinBox, QDoubleSpinBox)):
        return field.value()
    if isinstance(field, QLineEdit):
        return field.text()
    if isinstance(field, QCheckBox):
        return field.isChecked()
    return str(field.line_edit.value)  # FileEdit: what was typed ("" when empty)


def _write(field, value) -> None:
    if isinstance(field, QComboBox):
        # an item that has gone (a closed layer) is not brought back into a fixed list
        if field.isEditable() or field.findText(str(value)) >= 0:
            field.setCurrentText(str(value))
    elif isinstance(field, QSpinBox):
        field.setValue(int(value))
    elif isinstance(field, QDoubleSpinBox):
        field.setValue(float(value))
    elif isinstance(field, QLineEdit):
        field.setText(str(value))
    elif isinstance(field, QCheckBox):
        field.setChecked(bool(value))
    else:
        field.line_edit.value = str(value)


def _changed_signal(field):
    if isinstance(field, QComboBox):
        return field.currentTextChanged
    if isinstance(field, QSpinBox | QDoubleSpinBox):
        return field.valueChanged
    if isinstance(field, QLineEdit):
        return field.textChanged
    if isinstance(field, QCheckBox):
        return field.toggled
    return field.changed


def remembered_settings(dock) -> dict[str, object]:
    """A copy of what the store holds for ``dock``'s viewer and class (tests, docs)."""
    key = _key(dock)
    return dict(_STORE.get(key, {})) if key else {}


def remember_settings(dock) -> None:
    """Restore ``dock``'s fields from the store, then keep the store up to date."""
    key = _key(dock)
    if key is None:
        return
    fields = _fields(dock)
    saved = _STORE.setdefault(key, {})
    for name, field in fields.items():  # creation order: a recipe box before the fields it fills
        if name in saved:
            try:
                _write(field, saved[name])
            except (TypeError, ValueError):
                pass  # a value of another kind (the dock changed): keep the default
    for name, field in fields.items():
        saved[name] = _read(field)
        _changed_signal(field).connect(
            lambda *_args, _name=name, _field=field: saved.__setitem__(_name, _read(_field)))

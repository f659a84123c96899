from __future__ import annotations

import json

import pytest

from model.classes import ClassInfo
from model.storage.project import PROJECT_FILE, Project, ProjectError, load_project, save_project


def test_folder_without_project_file_gets_defaults(tmp_path):
    project = load_project(tmp_path)
    assert [c.name for c in project.classes] == ["background", "class 1"]
    assert project.mask_dir == tmp_path / "masks"
    assert project.mask_dir == tmp_path / "masks"


def test_project_round_trip(tmp_path):
    project = Project(tmp_path).with_classes([ClassInfo("bg", (1, 2, 3)), ClassInfo("cell", (4, 5, 6))])
    project = project.with_added_class("nucleus")
    save_project(project)
    loaded = load_project(tmp_path)
    assert loaded == project
    assert json.loads((tmp_path / PROJECT_FILE).read_text())["classes"][2]["name"] == "nucleus"


def test_broken_project_file_names_the_file(tmp_path):
    (tmp_path / PROJECT_FILE).write_text("{ not json")
    with pytest.raises(ProjectError, match=PROJECT_FILE):
        load_project(tmp_path)


def test_removing_a_class_rewrites_every_mask(tmp_path):
    import numpy as np

    from model.classes import default_classes
    from model.storage.imageio import read_mask, write_mask
    from model.storage.project import remove_class_from_masks

    project = Project(tmp_path).with_classes(default_classes(4))
    project.mask_dir.mkdir()
    write_mask(project.mask_dir / "a.png", np.array([[0, 1, 2, 3, 255]], np.uint8), default_classes(4))
    write_mask(project.mask_dir / "b.png", np.array([[0, 1]], np.uint8), default_classes(4))
    before_b = (project.mask_dir / "b.png").read_bytes()
    updated, problems = remove_class_from_masks(project, 2)
    assert problems == []
    assert [c.name for c in updated.classes] == ["background", "class 1", "class 3"]
    assert read_mask(project.mask_dir / "a.png").tolist() == [[0, 1, 255, 2, 255]]
    assert (project.mask_dir / "b.png").read_bytes() == before_b  # untouched: nothing to change
    assert load_project(tmp_path).classes == updated.classes
    with pytest.raises(ProjectError, match="background"):
        remove_class_from_masks(updated, 0)


def _write(folder, **fields) -> None:
    base = {"version": 1, "classes": [{"name": "bg", "color": [0, 0, 0]}, {"name": "a", "color": [9, 9, 9]}]}
    (folder / PROJECT_FILE).write_text(json.dumps({**base, **fields}))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"classes": [{"name": "bg", "color": [0, 0, 0]}, {"name": "a", "color": [300, 0, 0]}]},
            "classes[1].color",
        ),
        ({"classes": [{"name": f"c{i}", "color": [0, 0, 0]} for i in range(256)]}, "2 to 255 classes"),
        ({"classes": [{"name": "bg"}, {"color": [1, 2, 3]}]}, "classes[1]' needs a 'name'"),
        ({"mask_dir": "../elsewhere"}, "'mask_dir' must be a folder inside the project folder"),
        ({"models_dir": "/tmp/models"}, "'models_dir' must be a folder inside the project folder"),
        ({"eraser_mode": "sideways"}, "'eraser_mode' must be one of"),
        ({"version": "two"}, "'version' must be a whole number"),
        ({"train_settings": [1]}, "'train_settings' must be an object"),
    ],
)
def test_each_bad_field_is_refused_by_name(tmp_path, fields, message):
    _write(tmp_path, **fields)
    with pytest.raises(ProjectError, match=PROJECT_FILE) as caught:
        load_project(tmp_path)
    assert message in str(caught.value)


def test_fields_of_a_newer_version_survive_a_rewrite(tmp_path):
    _write(tmp_path, version=3, review={"by": "ana"}, mask_dir="labels/masks")
    project = load_project(tmp_path)
    assert project.mask_dir == tmp_path / "labels" / "masks"
    save_project(project.with_added_class("b"))
    data = json.loads((tmp_path / PROJECT_FILE).read_text())
    assert data["version"] == 3 and data["review"] == {"by": "ana"} and len(data["classes"]) == 3


def test_classes_without_colours_get_distinct_default_colours(tmp_path):
    (tmp_path / "seggui_project.json").write_text(
        '{"classes": [{"name": "bg"}, {"name": "cell"}, {"name": "nucleus"}]}'
    )
    # Before: "cannot read project file ('color')".
    project = load_project(tmp_path)
    assert [c.name for c in project.classes] == ["bg", "cell", "nucleus"]
    assert len({c.color for c in project.classes}) == 3

from __future__ import annotations

import json

import pytest

from model.classes import ClassInfo
from seggui.project import PROJECT_FILE, Project, ProjectError, load_project, save_project


def test_folder_without_project_file_gets_defaults(tmp_path):
    project = load_project(tmp_path)
    assert [c.name for c in project.classes] == ["background", "class 1"]
    assert project.mask_dir == tmp_path / "masks"
    assert project.mask_path(tmp_path / "a.tif") == tmp_path / "masks" / "a.png"


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

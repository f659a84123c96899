from __future__ import annotations

import pickle

import pytest
import torch

from model.classes import default_classes
from model.errors import ModelFileError
from model.networks.checkpoint import Checkpoint, adapt_to_classes, load_checkpoint, save_checkpoint
from model.networks.unet import UNetConfig, build_unet


def _checkpoint(num_classes: int = 3) -> Checkpoint:
    torch.manual_seed(0)
    config = UNetConfig(depth=2, base_channels=4, num_classes=num_classes)
    model = build_unet(config)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so they must round-trip too
        model.inc[1].running_mean.uniform_(-1, 1)
    return Checkpoint(
        config,
        model.state_dict(),
        default_classes(num_classes),
        (0.4,),
        (0.2,),
        history=[{"epoch": 1, "mean_iou": 0.5}],
        train_settings={"preset": "fast"},
    )


def test_round_trip_gives_identical_outputs(tmp_path):
    original = _checkpoint()
    save_checkpoint(tmp_path / "m.pt", original)
    loaded = load_checkpoint(tmp_path / "m.pt")
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(original.build_model()(x), loaded.build_model()(x))
    assert loaded.classes == original.classes
    assert loaded.mean == (0.4,) and loaded.std == (0.2,)
    assert loaded.history == original.history and loaded.config == original.config


def test_foreign_files_give_a_clear_error_naming_the_file(tmp_path):
    torch.save(build_unet(UNetConfig()).state_dict(), tmp_path / "plain.pt")
    (tmp_path / "noise.pt").write_bytes(b"\x00\x01not a model at all")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(print))
    for name in ("plain.pt", "noise.pt", "evil.pt"):
        with pytest.raises(ModelFileError, match=f"{name}.*not a SegGUI model"):
            load_checkpoint(tmp_path / name)
    with pytest.raises(ModelFileError, match="missing.pt.*not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_damaged_model_file_is_refused(tmp_path):
    data = _checkpoint().to_dict()
    data["state_dict"].pop("head.weight")
    torch.save(data, tmp_path / "broken.pt")
    with pytest.raises(ModelFileError, match="broken.pt.*damaged"):
        load_checkpoint(tmp_path / "broken.pt")


def test_head_grows_when_classes_are_added_and_old_outputs_are_kept():
    old = _checkpoint(num_classes=2)
    grown = adapt_to_classes(old, default_classes(4))
    assert grown.config.num_classes == 4
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(old.build_model()(x), grown.build_model()(x)[:, :2])
    with pytest.raises(ModelFileError, match="knows 3 classes"):
        adapt_to_classes(_checkpoint(3), default_classes(2))


def test_class_check_refuses_extra_model_classes_and_notes_differences():
    from model.classes import ClassInfo
    from model.networks.checkpoint import check_classes

    three = _checkpoint(3)
    with pytest.raises(ModelFileError, match="trained for 3 classes.*this project has 2"):
        check_classes(three, default_classes(2))
    assert check_classes(three, default_classes(3)) is None
    assert "class 3" in check_classes(three, default_classes(4))
    renamed = [ClassInfo("background", (0, 0, 0)), ClassInfo("cell", (1, 2, 3)), *default_classes(3)[2:]]
    assert "class 1 = cell" in check_classes(three, renamed)


def test_empty_pickled_and_unversioned_files_are_refused_by_name(tmp_path):
    import argparse

    from model.errors import ModelFileError

    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"empty\.pt: not a SegGUI model file"):
        load_checkpoint(empty)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "seggui-model", "thing": argparse.Namespace(a=1)}, pickled)
    with pytest.raises(ModelFileError, match=r"pickled\.pt: .*could run code") as caught:
        load_checkpoint(pickled)
    assert "weights_only" not in str(caught.value)
    odd = tmp_path / "odd.pt"
    torch.save({"format": "seggui-model", "version": "one"}, odd)
    with pytest.raises(ModelFileError, match=r"odd\.pt: damaged SegGUI model file \(format version 'one'"):
        load_checkpoint(odd)


def test_a_library_message_reaches_the_user_without_terminal_escape_codes(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    path.write_bytes(b"PK\x03\x04 something")

    def load(*args, **kwargs):
        raise RuntimeError("\x1b[1mUnsupported global\x1b[0m: GLOBAL foreign.Thing\r\nmore advice")

    monkeypatch.setattr(torch, "load", load)
    with pytest.raises(ModelFileError) as error:
        load_checkpoint(path)
    assert str(error.value) == (
        f"{path}: not a SegGUI model file (could not be read safely: "
        "Unsupported global: GLOBAL foreign.Thing)"
    )

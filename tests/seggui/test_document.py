from __future__ import annotations

import numpy as np

from seggui.state.document import TILE, MaskDocument, Rect


def _doc(h: int = 100, w: int = 120, fill: int = 255) -> MaskDocument:
    return MaskDocument(np.full((h, w), fill, np.uint8))


def test_dab_paints_the_pixels_whose_centres_are_within_the_radius():
    doc = _doc()
    doc.begin_edit("brush")
    rect = doc.paint_segment(10.5, 20.5, 10.5, 20.5, 2.0, 1)
    doc.end_edit()
    ys, xs = np.nonzero(doc.mask == 1)
    assert set(zip(ys.tolist(), xs.tolist())) == {
        (y, x) for y in range(17, 24) for x in range(7, 14) if (x - 10) ** 2 + (y - 20) ** 2 <= 4
    }
    assert rect.x <= 8 and rect.y <= 18 and rect.x + rect.width >= 13 and rect.y + rect.height >= 23


def test_segment_leaves_no_gaps_and_clips_at_the_border():
    doc = _doc()
    doc.begin_edit("brush")
    doc.paint_segment(-5, 50.5, 200, 50.5, 0.5, 2)
    doc.end_edit()
    assert (doc.mask[50] == 2).all() and (doc.mask == 2).sum() == 120


def test_undo_and_redo_restore_exact_pixels_and_store_only_touched_tiles():
    rng = np.random.default_rng(0)
    doc = MaskDocument(rng.integers(0, 3, (300, 300)).astype(np.uint8))
    before = doc.mask.copy()
    doc.begin_edit("brush")
    doc.paint_segment(5, 5, 40, 30, 3, 1)
    edit = doc.end_edit()
    after = doc.mask.copy()
    assert edit is not None and len(edit.tiles) == 1 and edit.nbytes == 2 * TILE * TILE
    doc.apply(edit, undo=True)
    assert np.array_equal(doc.mask, before)
    doc.apply(edit, undo=False)
    assert np.array_equal(doc.mask, after)


def test_edit_that_changes_nothing_is_not_recorded():
    doc = _doc(fill=1)
    doc.begin_edit("brush")
    doc.paint_segment(10, 10, 20, 20, 4, 1)
    assert doc.end_edit() is None


def test_flood_fill_fills_only_the_connected_region():
    doc = _doc(fill=0)
    doc.mask[:, 50] = 1  # a wall splits the image
    doc.begin_edit("fill")
    rect = doc.flood_fill(10, 10, 2)
    doc.end_edit()
    assert (doc.mask[:, :50] == 2).all() and (doc.mask[:, 51:] == 0).all() and (doc.mask[:, 50] == 1).all()
    assert rect == Rect(0, 0, 50, 100)


def test_polygon_fill_covers_the_inside():
    doc = _doc()
    doc.begin_edit("polygon")
    doc.fill_polygon([(10, 10), (30, 10), (30, 20), (10, 20)], 3)
    doc.end_edit()
    ys, xs = np.nonzero(doc.mask == 3)
    assert ys.min() == 10 and ys.max() == 19 and xs.min() == 10 and xs.max() == 29
    assert (doc.mask[10:20, 10:30] == 3).all()


def test_replace_where_copies_values_only_where_asked():
    doc = _doc()
    doc.mask[0, 0] = 1
    prediction = np.full(doc.shape, 2, np.uint8)
    doc.begin_edit("accept")
    doc.replace_where(doc.mask == 255, prediction)
    edit = doc.end_edit()
    assert doc.mask[0, 0] == 1 and (doc.mask != 1).sum() == doc.mask.size - 1
    doc.apply(edit, undo=True)
    assert (doc.mask == 255).sum() == doc.mask.size - 1


def test_similar_pixels_compare_every_channel_within_the_tolerance():
    from seggui.state.document import similar_pixels

    grey = np.array([[0, 20, 30, 255]], np.uint8)
    assert similar_pixels(grey, 0, 0, 0.1).tolist() == [[True, True, False, False]]  # 25.5 of 255
    assert similar_pixels(grey, 0, 0, 0.0).tolist() == [[True, False, False, False]]
    colour = np.zeros((1, 3, 3), np.uint8)
    colour[0, 1] = (10, 10, 10)
    colour[0, 2] = (10, 10, 200)  # alike in two channels, far in the third
    assert similar_pixels(colour, 0, 0, 0.1).tolist() == [[True, True, False]]


def test_a_similarity_fill_stays_in_the_connected_look_alike_area_and_can_spare_labels():
    from seggui.state.document import similar_pixels

    image = np.full((40, 60), 200, np.uint8)
    image[:, 20:40] = 40  # a dark band between two bright halves
    image[5:10, 5:10] = 215  # a slightly brighter spot inside the left half: still alike
    doc = _doc(40, 60)
    doc.begin_edit("fill")
    doc.fill_connected(2, 2, similar_pixels(image, 2, 2, 0.1), 1)
    doc.end_edit()
    assert np.all(doc.mask[:, :20] == 1) and np.all(doc.mask[:, 20:] == 255)  # not across the band

    doc.begin_edit("stroke")
    doc.paint_segment(50, 5, 55, 5, 2, 2)
    doc.end_edit()
    painted = doc.mask == 2
    doc.keep_labels = True
    doc.begin_edit("fill")
    doc.fill_connected(50, 30, similar_pixels(image, 50, 30, 0.1), 1)
    doc.end_edit()
    assert np.all(doc.mask[painted] == 2)  # labelled pixels kept
    assert np.all(doc.mask[:, 40:][~painted[:, 40:]] == 1)


def test_outlines_keep_the_pixels_next_to_another_label_and_hatching_adds_stripes():
    from model.classes import IGNORE_INDEX
    from seggui.rendering.labels import FILL, HATCH, OUTLINE, styled_labels

    labels = np.zeros((12, 12), np.uint8)
    labels[3:9, 3:9] = 1
    assert styled_labels(labels, FILL) is labels
    outline = styled_labels(labels, OUTLINE)
    ring = np.zeros((12, 12), bool)
    ring[3:9, 3:9] = True
    ring[4:8, 4:8] = False
    assert np.array_equal(outline == 1, ring)  # the object's own border pixels
    assert (outline[4:8, 4:8] == IGNORE_INDEX).all()
    hatched = styled_labels(labels, HATCH)
    inside = hatched[4:8, 4:8]
    assert 0 < (inside == 1).sum() < inside.size  # stripes: part of the inside
    assert np.array_equal(hatched[ring], labels[ring])


def test_recent_documents_are_bounded_and_a_changed_mask_drops_its_history(qtbot):
    from pathlib import Path

    from seggui.controllers.editor import MaskEditor
    from seggui.controllers.recent_documents import RecentDocuments
    from seggui.state.app_state import AppState
    from seggui.state.tool_state import ToolState

    editor = MaskEditor(ToolState(AppState()))
    forgotten = []
    editor.forget_document = forgotten.append  # type: ignore[method-assign]
    recent = RecentDocuments(editor, images=2, max_bytes=10_000)
    docs = [_doc(40, 50) for _ in range(3)]
    for i, doc in enumerate(docs):
        recent.keep(Path(f"im{i}.png"), doc)
    assert forgotten == [docs[0]]  # three kept, room for two
    recent.keep(Path("big.png"), _doc(100, 120))  # 12,000 bytes: over the byte budget with others
    assert forgotten[1:] == [docs[1], docs[2]]
    changed = np.full((100, 120), 1, np.uint8)
    assert recent.reopen(Path("big.png"), changed) is None and len(forgotten) == 4
    same = _doc(40, 50)
    recent.keep(Path("a.png"), same)
    assert recent.reopen(Path("a.png"), same.mask.copy()) is same

"""Image folders: decoding, labels from class folders, bad files skipped by name, the cache, the seeded order."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from bigart.errors import BigartError
from bigart.training.data import (
    DatasetWarning,
    EpochOrder,
    ab_folders,
    load_image_folder,
    pair_by_name,
    prepare_image,
    to_float,
)
from tests.training.conftest import make_folder


def test_resize_and_centre_crop(tmp_path):
    # 20 x 40 (h x w): left half black, right half white, a red column in the middle third
    pixels = np.zeros([20, 40, 3], np.uint8)
    pixels[:, 20:] = 255
    path = tmp_path / "wide.png"
    Image.fromarray(pixels).save(path)
    out = prepare_image(path, 8)
    assert out.shape == (3, 8, 8) and out.dtype == np.uint8
    # short side 20 -> 8 (width 16), crop columns 4..11: left four dark, right four bright
    assert out[:, :, :3].max() < 40 and out[:, :, 5:].min() > 215


def test_grayscale_and_alpha_images_become_rgb(tmp_path):
    Image.fromarray(np.full([10, 10], 200, np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(np.full([10, 10, 4], 100, np.uint8)).save(tmp_path / "a.png")
    ds = load_image_folder(tmp_path, 8)
    assert ds.images.shape == (2, 3, 8, 8)
    assert sorted(ds.images.reshape(2, -1)[:, 0].tolist()) == [100, 200]


def test_bad_images_are_skipped_with_a_named_warning(tmp_path):
    make_folder(tmp_path, 3)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    good = tmp_path / "img000.png"
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:60])
    (tmp_path / "notes.txt").write_text("not an image, not even looked at")
    with pytest.warns(DatasetWarning) as record:
        ds = load_image_folder(tmp_path, 16)
    messages = [str(w.message) for w in record]
    assert any("broken.png" in m for m in messages) and any("truncated.png" in m for m in messages)
    assert len(ds) == 3 and ds.files == ["img000.png", "img001.png", "img002.png"]
    assert {name for name, _ in ds.skipped} == {"broken.png", "truncated.png"}


def test_a_folder_without_usable_images_is_an_error(tmp_path):
    with pytest.raises(BigartError, match="no images"):
        load_image_folder(tmp_path, 16)
    (tmp_path / "x.png").write_bytes(b"garbage")
    with pytest.raises(BigartError, match="none of its 1"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_image_folder(tmp_path, 16)


def test_class_sub_folders_give_labels(tmp_path):
    make_folder(tmp_path / "zebra", 2, seed=1)
    make_folder(tmp_path / "ant", 3, seed=2)
    make_folder(tmp_path / "ant" / "more", 1, seed=3)  # deeper folders belong to their top-level class
    ds = load_image_folder(tmp_path, 16)
    assert ds.class_names == ["ant", "zebra"]
    assert ds.labels.tolist() == [0, 0, 0, 0, 1, 1]
    assert ds.files[3] == "ant/more/img000.png"
    unlabelled = load_image_folder(tmp_path, 16, labels=False)
    assert unlabelled.class_names == [] and unlabelled.labels.tolist() == [0] * 6
    make_folder(tmp_path, 1, seed=4)  # an image at the top: no longer a labelled folder
    assert load_image_folder(tmp_path, 16).class_names == []
    with pytest.raises(BigartError, match="class sub-folder"):
        load_image_folder(tmp_path, 16, labels=True)


def test_the_cache_is_reused_and_follows_changes(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(data / "a", 3)
    make_folder(data / "b", 2, seed=5)
    first = load_image_folder(data, 16, cache_dir=cache)
    assert first.decoded == 5 and first.cache_file.exists()
    stamp = first.cache_file.stat().st_mtime_ns
    second = load_image_folder(data, 16, cache_dir=cache)
    assert second.decoded == 0, "the second load decoded images instead of reading the cache"
    assert second.cache_file == first.cache_file and second.cache_file.stat().st_mtime_ns == stamp
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.class_names == ["a", "b"] and second.files == first.files
    # another resolution, or a changed file, is another cache entry
    assert load_image_folder(data, 8, cache_dir=cache).decoded == 5
    path = data / "a" / "img000.png"
    Image.fromarray(np.zeros([20, 24, 3], np.uint8)).save(path)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    third = load_image_folder(data, 16, cache_dir=cache)
    assert third.decoded == 5 and third.images[0].max() == 0


def test_skipped_files_are_named_again_when_read_from_the_cache(tmp_path):
    make_folder(tmp_path / "d", 2)
    (tmp_path / "d" / "bad.jpg").write_bytes(b"nope")
    with pytest.warns(DatasetWarning):
        load_image_folder(tmp_path / "d", 16, cache_dir=tmp_path / "c")
    with pytest.warns(DatasetWarning, match="bad.jpg"):
        again = load_image_folder(tmp_path / "d", 16, cache_dir=tmp_path / "c")
    assert again.decoded == 0 and len(again) == 2


def test_ab_folders_and_pairs(tmp_path):
    make_folder(tmp_path / "trainA", 3)
    make_folder(tmp_path / "trainB", 4, seed=1)
    a_dir, b_dir = ab_folders(tmp_path)
    assert (a_dir.name, b_dir.name) == ("trainA", "trainB")
    with pytest.raises(BigartError, match="trainA"):
        ab_folders(tmp_path / "trainA")
    a, b = load_image_folder(a_dir, 16), load_image_folder(b_dir, 16)
    with pytest.warns(DatasetWarning, match="1 images"):
        pa, pb = pair_by_name(a, b)
    assert pa.files == pb.files == ["img000.png", "img001.png", "img002.png"]
    assert torch.equal(pb.images, b.images[:3])


def test_epoch_order_is_a_seeded_permutation_per_epoch():
    order = EpochOrder(5, seed=3)
    first = order.take(3)
    rest = order.take(4)  # crosses into epoch 1
    assert sorted([*first.tolist(), *rest[:2].tolist()]) == [0, 1, 2, 3, 4]
    assert order.state_dict() == {"n": 5, "seed": 3, "epoch": 1, "position": 2}
    again = EpochOrder(5, seed=3)
    again.load_state_dict({"n": 5, "seed": 3, "epoch": 0, "position": 3})
    assert again.take(4).tolist() == rest.tolist()
    with pytest.raises(BigartError, match="same images"):
        again.load_state_dict({"n": 6, "seed": 3, "epoch": 0, "position": 0})
    assert EpochOrder(5, seed=4).take(5).tolist() != EpochOrder(5, seed=3).take(5).tolist()


def test_to_float_range():
    x = to_float(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == [-1.0, 1.0]

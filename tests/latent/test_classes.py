"""ImageNet class lookups and class-mixture parsing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigart.latent.classes import ClassIndex, class_vector, imagenet_classes, parse_class_mixture

IMAGENET = imagenet_classes()


def test_the_imagenet_list():
    assert len(IMAGENET) == 1000
    assert [c.index for c in IMAGENET] == list(range(1000))
    wnids = [c.wnid for c in IMAGENET]
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000  # class index = sorted WordNet id order
    assert (IMAGENET[0].wnid, IMAGENET[0].name) == ("n01440764", "tench")
    assert (IMAGENET[999].wnid, IMAGENET[999].name) == ("n15075141", "toilet tissue")


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (207, 207),
        ("207", 207),
        ("n02099601", 207),
        ("golden retriever", 207),
        ("Golden Retriever", 207),
        ("tabby", 281),  # an exact name beats names that merely contain it ("tabby cat")
        ("tabby cat", 281),
        ("Tinca tinca", 0),  # any of a class's names
        ("labrador", 208),  # a unique part of a name
    ],
)
def test_find(query, index):
    assert IMAGENET.find(query).index == index


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("crane", r"matches 2 classes: 134 'crane', n02012849; 517 'crane', n03126707"),
        ("retriever", r"matches 5 classes"),
        ("cat", r"and \d+ more"),
        ("no such thing", "no class named like"),
        ("1000", "out of range"),
        ("n00000000", "WordNet id"),
        ("", "empty"),
    ],
)
def test_find_errors(query, message):
    with pytest.raises(ValueError, match=message):
        IMAGENET.find(query)


def test_parse_mixture():
    v = parse_class_mixture("golden retriever:0.7,tabby:0.3", IMAGENET)
    assert v.shape == (1000,) and v.dtype == np.float32
    assert np.flatnonzero(v).tolist() == [207, 281]
    np.testing.assert_array_equal(v[[207, 281]], np.float32([0.7, 0.3]))
    single = parse_class_mixture(" tabby ", IMAGENET)
    assert single[281] == 1.0 and single.sum() == 1.0
    twice = parse_class_mixture("281:0.25, n02123045:0.5", IMAGENET)
    assert twice[281] == 0.75
    assert parse_class_mixture("1:2,2:-0.5", IMAGENET)[[1, 2]].tolist() == [2.0, -0.5]  # weights as given


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("golden retriever:x", r"part 'golden retriever:x': 'x' is not a number"),
        ("tabby:0.5,crane:0.5", r"part 'crane:0.5': 'crane' matches 2 classes"),
        ("tabby,,tiger", "empty part"),
        (":0.3", "names no class"),
        ("tabby:inf", "finite"),
        ("", "empty"),
    ],
)
def test_parse_mixture_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_class_mixture(text, IMAGENET)


@given(
    st.dictionaries(
        st.integers(0, 999),
        st.floats(-10, 10, allow_nan=False, width=32).filter(lambda w: w != 0),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["index", "wnid", "name"]),
)
def test_parse_mixture_property(weights, spelling):
    def spell(i: int) -> str:
        c = IMAGENET[i]
        if spelling == "wnid":
            return c.wnid
        if spelling == "name" and len(IMAGENET.by_name(c.name)) == 1:
            return c.name
        return str(i)

    text = ",".join(f"{spell(i)}:{w!r}" for i, w in weights.items())
    v = parse_class_mixture(text, IMAGENET)
    expected = np.zeros(1000, np.float32)
    for i, w in weights.items():
        expected[i] = w
    np.testing.assert_array_equal(v, expected)


def test_numbered_index_and_one_hot():
    ix = ClassIndex.numbered(10)
    assert len(ix) == 10 and ix.find("class 3").index == 3
    np.testing.assert_array_equal(parse_class_mixture("3:0.5,7", ix), np.float32([0, 0, 0, 0.5, 0, 0, 0, 1, 0, 0]))
    np.testing.assert_array_equal(class_vector([2, 0], 3), np.float32([[0, 0, 1], [1, 0, 0]]))
    with pytest.raises(ValueError, match="out of range"):
        class_vector([3], 3)

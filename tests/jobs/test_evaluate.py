"""``bigart evaluate`` end to end on tiny generators and the committed emoji fixture: the numbers, their baselines,
and an exact identity CycleGAN that must score exactly its baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from bigart.cli import main
from bigart.engine.engine import Engine
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.errors import BigartError
from bigart.jobs.evaluate import PSNR_CAP, EvaluateSpec, _memorisation, format_report, run
from bigart.models import load_model, save_model_file
from bigart.models.cyclegan import CycleGANConfig, CycleGANModel
from bigart.training.classifier import load_classifier, save_classifier, train_classifier
from bigart.training.emoji import load_emoji
from bigart.training.metrics import psnr, ssim
from tests.models.test_biggan import randomized, tiny_config
from tests.models.test_cyclegan import tiny as tiny_cyclegan
from tests.training.test_emoji import FIXTURE


@pytest.fixture(scope="module")
def data():
    return load_emoji(FIXTURE)


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory, data):
    held = data.held_out_mask
    clf = train_classifier(data.subset(~held), data.subset(held), resolution=32, epochs=20, batch_size=16)
    path = tmp_path_factory.mktemp("clf") / "classifier.safetensors"
    save_classifier(path, clf)
    return path


def _save(tmp_path, net, family, **header):
    path = tmp_path / f"{family}.safetensors"
    save_model_file(path, net.state_dict(), {"family": family, "config": net.config.to_dict(), **header})
    return path


# --- StyleGAN2 ----------------------------------------------------------------------------------------------------


def test_stylegan2_end_to_end(tmp_path, tiny_sg2, classifier_file):
    model = _save(tmp_path, tiny_sg2(res=32), "stylegan2")
    out = tmp_path / "report.json"
    args = ["evaluate", "--model", str(model), "--data", str(FIXTURE), "--classifier", str(classifier_file)]
    assert main([*args, "--samples", "24", "--json", str(out), "-q"]) == 0
    r = json.loads(out.read_text())
    assert r["model"]["family"] == "stylegan2" and r["data"]["size"] == 32 and r["samples"] == 24
    f = r["frechet"]
    assert (f["n_generated"], f["n_real"], f["n_compared"], f["n_reference"]) == (24, 54, 24, 27)
    # a random generator is far from the emoji; two halves of the emoji are close to each other
    assert f["generated_vs_real"] > 3 * f["real_vs_real_floor"] > 0
    assert f["generated_vs_real_half"] > 3 * f["real_vs_real_floor"]
    m = r["memorisation"]
    assert m["k"] == 24 and len(m["generated_to_nearest_train"]["values"]) == 24
    assert m["ratio_of_medians"] > 1 and m["closer_than_closest_train_pair"] == 0  # noise copies nothing
    assert r["classifier"]["held_out_accuracy"] == load_classifier(classifier_file).header["held_out_accuracy"]
    assert "class_accuracy" not in r and r["notes"] == []
    # the same spec gives the same numbers
    assert main([*args, "--samples", "24", "--json", str(tmp_path / "again.json"), "-q"]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["frechet"] == f


def test_repeats_give_each_set_and_halving_and_their_spread(tmp_path, tiny_sg2, classifier_file):
    model = str(_save(tmp_path, tiny_sg2(res=32), "stylegan2"))
    once = run(EvaluateSpec(model, str(FIXTURE), str(classifier_file), samples=12))["frechet"]
    assert once["repeats"] == 1 and once["generated_vs_real_half_sd"] is None and once["real_vs_real_floor_sd"] is None
    assert once["generated_vs_real_half_values"] == [once["generated_vs_real_half"]]
    r = run(EvaluateSpec(model, str(FIXTURE), str(classifier_file), samples=12, repeats=3))
    f = r["frechet"]
    assert r["samples"] == 12 and f["repeats"] == 3 and f["n_generated"] == 12 and f["n_compared"] == 12
    gen, floor = f["generated_vs_real_half_values"], f["real_vs_real_floor_values"]
    # the first set (seeds 0-11) and the first halving (split seed 0) are exactly the single run's
    assert gen[0] == pytest.approx(once["generated_vs_real_half"], rel=1e-9)
    assert floor[0] == pytest.approx(once["real_vs_real_floor"], rel=1e-9)
    assert f["generated_vs_real"] == pytest.approx(once["generated_vs_real"], rel=1e-9)
    # other seeds and halvings give other numbers; the headline is their mean, the spread their sd
    assert len(set(gen)) == 3 and len(set(floor)) == 3
    assert f["generated_vs_real_half"] == pytest.approx(np.mean(gen))
    assert f["real_vs_real_floor"] == pytest.approx(np.mean(floor))
    assert f["generated_vs_real_half_sd"] == pytest.approx(np.std(gen, ddof=1))
    assert f["real_vs_real_floor_sd"] == pytest.approx(np.std(floor, ddof=1)) and f["real_vs_real_floor_sd"] > 0
    assert "mean ± sd of 3 sample sets" in format_report(r)
    with pytest.raises(BigartError, match="--repeats must be at least 1"):
        run(EvaluateSpec(model, str(FIXTURE), str(classifier_file), samples=12, repeats=0))


def test_without_a_classifier_pixel_metrics_remain(tmp_path, tiny_sg2):
    model = _save(tmp_path, tiny_sg2(res=32), "stylegan2")
    r = run(EvaluateSpec(str(model), str(FIXTURE), samples=8, style="noto"))
    assert "frechet" not in r and r["memorisation"]["k"] == 8 and r["styles"] == ["noto"]
    assert any("no classifier" in n for n in r["notes"])


def test_memorisation_flags_copies(data):
    train = data.subset(~data.held_out_mask).images
    copies = _memorisation(train[:8], train, k=8, seed=0)
    assert copies["generated_to_nearest_train"]["median"] == 0 and copies["ratio_of_medians"] == 0
    assert copies["closer_than_closest_train_pair"] == 8
    # slightly changed copies are still far closer than two different emoji
    noisy = np.clip(train[:8].astype(int) + np.random.default_rng(0).integers(-3, 4, train[:8].shape), 0, 255)
    near = _memorisation(noisy.astype(np.uint8), train, k=8, seed=0)
    rms = np.sqrt(((noisy - train[:8]) ** 2).reshape(8, -1).mean(1))  # each one's distance to its original
    assert near["generated_to_nearest_train"]["values"] == pytest.approx(rms.tolist())
    assert 1 < np.median(rms) < 2.5
    assert near["ratio_of_medians"] < 0.1


# --- BigGAN: class accuracy ---------------------------------------------------------------------------------------


def test_biggan_class_accuracy(tmp_path, data, classifier_file):
    names = [c["category"] for c in data.manifest["classes"]]
    g = randomized(tiny_config(num_classes=9))
    model = _save(tmp_path, g, "biggan", class_names=names)
    r = run(EvaluateSpec(str(model), str(FIXTURE), str(classifier_file), samples=18, batch_size=9))
    c = r["class_accuracy"]
    assert c["chance"] == pytest.approx(1 / 9) and set(c["per_class"]) == set(data.classes)
    # the same number, computed here from the engine's renders: sample i shows class i % 9 from seed i
    clf = load_classifier(classifier_file)
    engine = Engine(load_model(model), "torch")
    hits = []
    for k in range(9):
        images = engine.render(RenderRequest(seeds=(k, k + 9), class_weights=((k, 1.0),))).images
        hits += (clf.predict(images) == k).tolist()
    assert c["accuracy"] == pytest.approx(np.mean(hits))
    assert "frechet" in r and r["notes"] == []


def test_class_names_the_classifier_lacks_leave_accuracy_out(tmp_path, classifier_file):
    g = randomized(tiny_config(num_classes=4))
    model = _save(tmp_path, g, "biggan", class_names=["cat", "dog", "Flags", "Objects"])
    r = run(EvaluateSpec(str(model), str(FIXTURE), str(classifier_file), samples=4))
    assert "class_accuracy" not in r and "no class cat, dog" in r["notes"][0]


# --- CycleGAN -----------------------------------------------------------------------------------------------------

LEVELS = np.arange(256)


def _atanh_knots() -> tuple[np.ndarray, np.ndarray]:
    """Fewest uint8 levels at which a piecewise-linear stand-in for atanh, followed by tanh and bigart's
    quantisation, gives back every level exactly (greedy: add the worst level until none is wrong)."""
    target = np.arctanh(np.clip((LEVELS + 0.5) / 127.5 - 1, -0.999999, 0.999999))  # the middle of each level's bin
    target[255] = 10.0  # tanh(10) is 1.0 in float32
    knots = [0, 254, 255]
    while True:
        f = np.interp(LEVELS, knots, target[knots])
        bad = ((np.tanh(f.astype(np.float32)) + 1) / 2 * 255).astype(np.uint8) != LEVELS
        if not bad.any():
            return np.array(knots) / 127.5, target[knots]
        knots = sorted({*knots, int(np.argmax(np.abs(f - target) * bad))})


def identity_cyclegan() -> CycleGANModel:
    """A real junyanz ResNet generator (no residual blocks, no normalisation) whose weights make it the identity on
    uint8 images: each stride-2 convolution stores the four pixels of every 2x2 block in four channels, the
    transposed convolutions put them back, and ReLU units before the head build the inverse of its tanh."""
    u, values = _atanh_knots()  # u = x + 1 for x in [-1, 1]
    slopes = np.diff(values) / np.diff(u)
    coef = np.concatenate([slopes[:1], np.diff(slopes)])  # weights of relu(u - u_k), k = 0 .. K-2
    n = len(coef)
    m = CycleGANModel(CycleGANConfig(ngf=3 * n, n_blocks=0, norm="none", directions=["AtoB", "BtoA"]))
    with torch.no_grad():
        for d in m.directions:
            convs = [layer for layer in getattr(m, d).model if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d))]
            stem, down1, down2, up1, up2, head = convs
            for layer in convs:
                layer.weight.zero_()
                layer.bias.zero_()
            for c in range(3):
                stem.weight[c, c, 3, 3], stem.bias[c] = 1, 1  # u = x + 1 >= 0 passes every ReLU
                for p1 in range(4):  # the pixel (p1 // 2, p1 % 2) of each 2x2 block
                    down1.weight[c * 4 + p1, c, 1 + p1 // 2, 1 + p1 % 2] = 1
                    up2.weight[c * 4 + p1, c * n : (c + 1) * n, 1 + p1 // 2, 1 + p1 % 2] = 1
                    for p2 in range(4):
                        down2.weight[(c * 4 + p1) * 4 + p2, c * 4 + p1, 1 + p2 // 2, 1 + p2 % 2] = 1
                        up1.weight[(c * 4 + p1) * 4 + p2, c * 4 + p1, 1 + p2 // 2, 1 + p2 % 2] = 1
                up2.bias[c * n : (c + 1) * n] = torch.from_numpy(-u[:-1])
                head.weight[c, c * n : (c + 1) * n, 3, 3] = torch.from_numpy(coef)
                head.bias[c] = float(values[0])
    return m.eval().requires_grad_(False)


def test_identity_cyclegan_is_exact(tmp_path):
    engine = Engine(load_model(_save(tmp_path, identity_cyclegan(), "cyclegan")), "torch")
    rng = np.random.default_rng(0)
    rgb = rng.permutation(np.arange(16 * 20 * 3) % 256).reshape(16, 20, 3).astype(np.uint8)  # every level
    for d in ("AtoB", "BtoA"):
        out = engine.render(RenderRequest(image=FrozenArray.of(rgb, np.uint8), direction=d))
        np.testing.assert_array_equal(out.image, rgb)


def _held_out_pairs(data):
    held = data.subset(data.held_out_mask)
    by = {(s, n): img for s, n, img in zip(held.styles, held.names, held.images, strict=True)}
    names = sorted(n for s, n in by if s == "noto")
    return np.stack([by["noto", n] for n in names]), np.stack([by["twemoji", n] for n in names])


def test_identity_cyclegan_scores_its_baseline(tmp_path, data, classifier_file):
    model = _save(tmp_path, identity_cyclegan(), "cyclegan")
    out = tmp_path / "cycle.json"
    args = ["evaluate", "--model", str(model), "--data", str(FIXTURE), "--classifier", str(classifier_file)]
    assert main([*args, "--json", str(out), "-q"]) == 0
    r = json.loads(out.read_text())
    assert (r["domain_a"], r["domain_b"], r["test_emoji"]) == ("noto", "twemoji", 9)
    noto, twemoji = _held_out_pairs(data)
    baseline_psnr = np.mean([psnr(a, b) for a, b in zip(noto, twemoji, strict=True)])
    baseline_ssim = np.mean([ssim(a, b) for a, b in zip(noto, twemoji, strict=True)])
    for d in ("AtoB", "BtoA"):
        block = r["directions"][d]
        assert block["identity_baseline"]["psnr"] == pytest.approx(baseline_psnr, abs=1e-9)
        assert block["identity_baseline"]["ssim"] == pytest.approx(baseline_ssim, abs=1e-9)
        assert block["translated"] == pytest.approx(block["identity_baseline"], abs=1e-12)  # exactly its baseline
        f = block["frechet"]
        assert f["translated_vs_real_target"] == pytest.approx(f["identity_baseline"], abs=1e-9)
        assert f["n_test"] == 9 and f["n_reference"] == 18
    assert 5 < baseline_psnr < 30 and 0 < baseline_ssim < 0.9  # two styles differ
    assert r["cycle_AtoBtoA"]["psnr"] == PSNR_CAP and r["cycle_AtoBtoA"]["ssim"] == pytest.approx(1.0)


def test_random_cyclegan_is_worse_than_its_baseline(tmp_path, classifier_file):
    model = _save(tmp_path, tiny_cyclegan(), "cyclegan")  # AtoB only
    r = run(EvaluateSpec(str(model), str(FIXTURE), str(classifier_file)))
    assert list(r["directions"]) == ["AtoB"] and "cycle_AtoBtoA" not in r
    block = r["directions"]["AtoB"]
    assert block["translated"]["psnr"] < block["identity_baseline"]["psnr"]
    assert block["translated"]["ssim"] < block["identity_baseline"]["ssim"]
    f = block["frechet"]
    assert f["translated_vs_real_target"] > f["identity_baseline"]

"""The engine: torch and ONNX Runtime give the same images for every family, with a dynamic batch; exports are
verified, cached and rebuilt when damaged; the provider really in use is reported."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from bigart.engine import onnx_backend
from bigart.engine.engine import Engine, export_onnx, stats_weights
from bigart.engine.request import FrozenArray, RenderRequest, RenderResult
from bigart.errors import BigartError
from bigart.models import load_model, save_model_file
from bigart.models.registry import LoadedModel
from tests.conftest import randomize_
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle

TOL = 1e-3  # max abs difference in [-1, 1], fp32


def _z(n, dim, seed=0):
    return np.random.RandomState(seed).randn(n, dim).astype(np.float32)


def _sg2_file(tmp_path, tiny_sg2, arch="skip", c_dim=0, res=16) -> LoadedModel:
    g = tiny_sg2(arch, c_dim=c_dim, res=res)
    path = tmp_path / f"sg2-{arch}-{c_dim}-{res}.pkl"
    write_nvidia_pickle(path, g, sg2_kwargs(g))
    return load_model(path)


def _sg3_file(tmp_path, radial: bool) -> LoadedModel:
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    torch.manual_seed(0)
    mult = 2 if radial else 1
    cfg = StyleGAN3Config(
        z_dim=16,
        c_dim=0,
        w_dim=16,
        img_resolution=16,
        img_channels=3,
        channel_base=512 * mult,
        channel_max=32 * mult,
        num_layers=6,
        conv_kernel=1 if radial else 3,
        use_radial_filters=radial,
    )
    g = randomize_(StyleGAN3Generator(cfg))
    kwargs = {
        "z_dim": 16,
        "c_dim": 0,
        "w_dim": 16,
        "img_resolution": 16,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": cfg.mapping_layers},
        "channel_base": cfg.channel_base,
        "channel_max": cfg.channel_max,
        "num_layers": 6,
        "conv_kernel": cfg.conv_kernel,
        "use_radial_filters": radial,
    }
    path = tmp_path / f"sg3-{radial:d}.pkl"
    write_nvidia_pickle(path, g, kwargs)
    return load_model(path)


def _model_file(tmp_path, net, family) -> LoadedModel:
    """A bigart .safetensors model file holding ``net`` (for the families without an NVIDIA pickle)."""
    path = tmp_path / f"{family}.safetensors"
    save_model_file(path, net.state_dict(), {"family": family, "config": net.config.to_dict()})
    return load_model(path)


# --- parity, dynamic batch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_stylegan2_onnx_matches_torch(tmp_path, tiny_sg2, arch):
    m = _sg2_file(tmp_path, tiny_sg2, arch, c_dim=3 if arch == "skip" else 0)
    t, o = Engine(m, "torch", threads=1), Engine(m, "onnx", threads=1)
    g = m.generator
    for n in (1, 4):
        z = _z(n, g.z_dim, n)
        c = np.eye(3, dtype=np.float32)[np.arange(n) % 3] if g.c_dim else None
        ws_t, ws_o = t.map(z, c, psi=0.7, cutoff=3), o.map(z, c, psi=0.7, cutoff=3)
        assert np.abs(ws_t - ws_o).max() <= 1e-4
        for mode in ("const", "none"):
            a, b = t.synthesize(ws_t, mode), o.synthesize(ws_t, mode)
            assert a.shape == b.shape == (n, 3, 16, 16)
            assert np.abs(a - b).max() <= TOL
    info = o.describe()
    assert info["provider"] == "CPUExecutionProvider" and info["precision"] == "fp32"
    assert set(info["graphs"]) == {"mapping", "synthesis-const", "synthesis-none"}
    assert all(v["max_abs_diff"] <= TOL for v in info["graphs"].values())


@pytest.mark.parametrize("arch", ["skip", "resnet"])
def test_stylegan2_cpu_graph_upsamples_by_phase_convolutions(tmp_path, tiny_sg2, arch):
    """In the graph exported for the CPU provider, layers upsampling 32 px inputs and wider run as four phase
    convolutions with asymmetric pads plus DepthToSpace, the smaller ones keep ConvTranspose; images equal torch's."""
    import onnx

    m = _sg2_file(tmp_path, tiny_sg2, arch, res=64)
    t, o = Engine(m, "torch", threads=1), Engine(m, "onnx", threads=1)
    for n in (1, 4):
        ws = t.map(_z(n, m.generator.z_dim, n), psi=0.7)
        a, b = t.synthesize(ws, "const"), o.synthesize(ws, "const")
        assert a.shape == b.shape == (n, 3, 64, 64) and np.abs(a - b).max() <= TOL
    graph = o._graphs["synthesis-const"]
    assert graph.form == "cpu" and graph.info["form"] == "cpu"
    nodes = onnx.load(graph.path).graph.node
    ops = [n.op_type for n in nodes]
    assert ops.count("DepthToSpace") == 1  # b64's first layer (32 px input)
    assert ops.count("ConvTranspose") == 3 + (4 if arch == "resnet" else 0)  # b8..b32 (+ the 1x1 skip layers)
    pads = [list(a.ints) for n in nodes if n.op_type == "Conv" for a in n.attribute if a.name == "pads"]
    assert [0, 0, 1, 1] in pads and [1, 1, 0, 0] in pads  # odd phase; the filter after DepthToSpace


def test_a_graph_exported_for_cuda_keeps_symmetric_convolutions(tmp_path, tiny_sg2, monkeypatch):
    """cuDNN takes symmetric pads only: a graph meant for the CUDA provider keeps ConvTranspose everywhere, and is
    cached apart from the CPU graph of the same weights."""
    import onnx

    m = _sg2_file(tmp_path, tiny_sg2, res=64)
    cpu = Engine(m, "onnx", threads=1)
    ws = cpu.map(_z(1, m.generator.z_dim, 0), psi=0.7)
    a = cpu.synthesize(ws, "const")
    # CUDA asked for (this machine has no GPU: ONNX Runtime then runs the graph on the CPU, still correct)
    monkeypatch.setattr(
        onnx_backend, "providers_for", lambda device: ([(onnx_backend.CUDA, {}), onnx_backend.CPU], None)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cuda = Engine(m, "onnx", threads=1)
        b = cuda.synthesize(ws, "const")
    g_cpu, g_cuda = cpu._graphs["synthesis-const"], cuda._graphs["synthesis-const"]
    assert g_cuda.form == "cuda" and g_cuda.path != g_cpu.path
    ops = [n.op_type for n in onnx.load(g_cuda.path).graph.node]
    assert "DepthToSpace" not in ops and ops.count("ConvTranspose") == 4
    assert all(
        list(a.ints[:2]) == list(a.ints[2:])
        for n in onnx.load(g_cuda.path).graph.node
        if n.op_type == "Conv"
        for a in n.attribute
        if a.name == "pads"
    )
    assert np.abs(a - b).max() <= TOL


@pytest.mark.parametrize("radial", [False, True], ids=["T", "R"])
def test_stylegan3_onnx_matches_torch(tmp_path, radial):
    m = _sg3_file(tmp_path, radial)
    t, o = Engine(m, "torch", threads=1), Engine(m, "onnx", threads=1)
    for n in (1, 4):
        ws = t.map(_z(n, 16, n), psi=0.5)
        assert np.abs(ws - o.map(_z(n, 16, n), psi=0.5)).max() <= 1e-4
        assert np.abs(t.synthesize(ws) - o.synthesize(ws)).max() <= TOL
    o.synthesize(ws, "none")  # StyleGAN3 has no noise: every mode is the one graph
    assert set(o.describe()["graphs"]) == {"mapping", "synthesis"}


def test_biggan_one_graph_for_every_truncation(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    m = _model_file(tmp_path, randomized(tiny_config()), "biggan")
    t, o = Engine(m, "torch", threads=1), Engine(m, "onnx", threads=1)
    exported = onnx_backend.export_count
    for n, trunc in ((1, 0.4), (4, 0.4), (4, 0.7), (1, 1.0), (4, 0.05)):
        z = np.clip(_z(n, 8, n), -2, 2) * trunc
        c = np.random.RandomState(n).rand(n, 4).astype(np.float32)
        assert np.abs(t.biggan(z, c, trunc) - o.biggan(z, c, trunc)).max() <= TOL
    assert onnx_backend.export_count == exported + 1  # the truncation is an input, not baked in
    with pytest.raises(ValueError, match="truncation"):
        o.biggan(z, c, 1.5)


def test_stats_weights_reproduce_the_reference_pick():
    from bigart.models.biggan import truncation_statistics

    table = torch.randn(51, 7)
    for trunc in (0.02, 0.4, 0.7, 0.71, 0.9999, 1.0):
        ref = truncation_statistics(table, table, trunc)[0]
        got = torch.from_numpy(stats_weights(51, trunc)) @ table
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-6)
    assert np.count_nonzero(stats_weights(51, 0.4)) == 1 and np.count_nonzero(stats_weights(51, 0.71)) == 2


def test_cyclegan_onnx_dynamic_size(tmp_path):
    from tests.models.test_cyclegan import tiny

    m = _model_file(tmp_path, tiny(n_blocks=2, directions=["AtoB", "BtoA"]), "cyclegan")
    t, o = Engine(m, "torch", threads=1), Engine(m, "onnx", threads=1)
    for shape in ((1, 3, 64, 48), (4, 3, 32, 32)):
        x = np.random.RandomState(0).rand(*shape).astype(np.float32) * 2 - 1
        for d in ("AtoB", "BtoA"):
            assert np.abs(t.translate(x, d) - o.translate(x, d)).max() <= TOL


# --- requests and results ------------------------------------------------------------------------------------------


def test_render_request_stylegan_mixing_and_directions(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2, "skip", c_dim=3)
    g = m.generator
    rng = np.random.RandomState(5)
    direction = FrozenArray.of(rng.randn(g.w_dim))
    mixing = (0, 0, 1, 1, 2, 0)
    request = RenderRequest(
        seeds=(3, 4),
        psi=0.6,
        cutoff=4,
        class_weights=((0, 0.5), (2, 0.5)),
        mix_seeds=(10, 11),
        mixing=mixing,
        directions=((direction, 1.5),),
    )
    assert hash(request) == hash(RenderRequest(**{**request.__dict__}))  # frozen values, equal when equal
    results = {b: Engine(m, b, threads=1).render(request, stamp=7) for b in ("torch", "onnx")}
    for backend, r in results.items():
        assert isinstance(r, RenderResult) and r.ok, r.error
        assert (r.stamp, r.backend, r.image.shape, r.image.dtype) == (7, backend, (2, 16, 16, 3), np.uint8)
        assert {"map", "synthesis", "convert", "total"} <= set(r.timings)
    assert results["onnx"].provider == "CPUExecutionProvider" and results["torch"].provider == "torch-cpu"
    diff = np.abs(results["torch"].image.astype(int) - results["onnx"].image.astype(int)).max()
    assert diff <= 1

    # the same thing by hand: numpy between mapping and synthesis
    from bigart.latent import z_from_seeds

    e = Engine(m, "onnx", threads=1)
    c = np.tile(np.array([[0.5, 0, 0.5]], np.float32), (2, 1))
    ws = e.map(z_from_seeds([3, 4], g.z_dim), c, 0.6, 4)
    sources = e.map(z_from_seeds([10, 11], g.z_dim), c, 0.6, 4)
    for layer, k in enumerate(mixing):
        if k:
            ws[:, layer] = sources[k - 1, layer]
    ws += 1.5 * direction.numpy()
    np.testing.assert_allclose(e.request_ws(request), ws, rtol=0, atol=1e-6)


def test_render_errors_are_values(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    e = Engine(m, "onnx", threads=1)
    r = e.render(RenderRequest(seeds=(1,), noise_mode="random"), stamp=3)
    assert r.image is None and r.stamp == 3 and "random" in r.error and "torch" in r.error
    assert "not class-conditional" in e.render(RenderRequest(seeds=(1,), class_weights=((0, 1.0),))).error
    assert "mixing needs" in e.render(RenderRequest(seeds=(1,), mix_seeds=(2,), mixing=(1, 0))).error
    one = Engine(m, "torch", threads=1).render(RenderRequest(seeds=(1,), noise_mode="random"))
    assert one.ok and one.image.shape == (16, 16, 3) and one.images.shape == (1, 16, 16, 3)
    with pytest.raises(ValueError, match="exactly one"):
        RenderRequest()
    with pytest.raises(ValueError, match="style sources"):
        RenderRequest(seeds=(1,), mixing=(0, 2))


def test_render_request_biggan_and_translation(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config
    from tests.models.test_cyclegan import tiny

    big = _model_file(tmp_path, randomized(tiny_config()), "biggan")
    request = RenderRequest(seeds=(0, 1), psi=0.5, class_weights=((1, 1.0),))
    a, b = (Engine(big, backend, threads=1).render(request) for backend in ("torch", "onnx"))
    assert a.ok and b.ok and a.image.shape == (2, 32, 32, 3)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1

    cyc = _model_file(tmp_path, tiny(n_blocks=2, directions=["AtoB", "BtoA"]), "cyclegan")
    pixels = np.random.RandomState(0).randint(0, 256, (40, 56, 4), dtype=np.uint8)
    small = RenderRequest(image=FrozenArray.of(pixels, np.uint8), direction="BtoA")
    a, b = (Engine(cyc, backend, threads=1).render(small) for backend in ("torch", "onnx"))
    assert a.ok and b.ok and b.backend == "onnx" and a.image.shape == (40, 56, 4)
    assert np.array_equal(b.image[..., 3], pixels[..., 3])  # alpha kept as it was
    assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1
    tiled = Engine(cyc, "onnx", threads=1).render(RenderRequest(image=small.image, tile=32, overlap=8))
    assert tiled.ok and tiled.backend == "torch" and tiled.provider == "torch-cpu"  # tiles need torch: reported


# --- cache ---------------------------------------------------------------------------------------------------------


def test_cache_is_reused_and_damage_rebuilt(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    first = Engine(m, "onnx", threads=1)
    ws = first.map(_z(2, 32))
    ref = first.synthesize(ws)
    graph = first._graphs["synthesis-const"]
    assert graph.info["cached"] is False and graph.path.parent == onnx_backend.cache_dir()
    sidecar = json.loads(graph.sidecar.read_text())
    assert sidecar["max_abs_diff"] <= TOL and sidecar["check_batches"] == [1, 4] and sidecar["opset"] == 17

    exported = onnx_backend.export_count
    second = Engine(m, "onnx", threads=1)
    second.synthesize(second.map(_z(2, 32)))
    assert onnx_backend.export_count == exported  # both graphs came from the cache
    assert second._graphs["synthesis-const"].info["cached"] is True

    for damage in (lambda p: p.write_bytes(p.read_bytes()[:1000]), lambda p: p.write_bytes(b"garbage" * 100)):
        damage(graph.path)
        third = Engine(m, "onnx", threads=1)
        with pytest.warns(UserWarning, match="damaged"):
            out = third.synthesize(ws)
        assert np.abs(out - ref).max() <= 1e-6
        assert third._graphs["synthesis-const"].info["cached"] is False
        assert onnx_backend.export_count == exported + 1
        exported += 1

    graph.sidecar.write_text("{not json")
    with pytest.warns(UserWarning, match="damaged"):
        Engine(m, "onnx", threads=1).synthesize(ws)


def test_other_weights_other_cache_entry(tmp_path, tiny_sg2):
    a = _sg2_file(tmp_path, tiny_sg2)
    g = tiny_sg2(seed=1)
    path = tmp_path / "other.safetensors"
    save_model_file(path, g.state_dict(), {"family": "stylegan2", "config": g.config.to_dict()})
    b = load_model(path)
    ea, eb = Engine(a, "onnx", threads=1), Engine(b, "onnx", threads=1)
    ws = ea.map(_z(1, 32))
    ea.synthesize(ws), eb.synthesize(ws)
    assert ea._graphs["synthesis-const"].path != eb._graphs["synthesis-const"].path


# --- providers -----------------------------------------------------------------------------------------------------


def test_cuda_request_without_cuda_provider_warns_and_uses_cpu(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    e = Engine(m, "onnx", device="cuda", threads=1)
    with pytest.warns(UserWarning, match="CUDA was requested but onnxruntime .* without the CUDA provider"):
        e.map(_z(1, 32))
    assert e.provider == "CPUExecutionProvider"
    assert "onnxruntime-gpu" in e.describe()["warnings"][0]
    if not torch.cuda.is_available():
        with pytest.raises(BigartError, match="CUDA"):
            Engine(m, "torch", device="cuda")


def test_missing_cuda_library_is_named(tmp_path, tiny_sg2, monkeypatch):
    """A GPU build whose CUDA libraries are missing: the warning names the library, the CPU runs."""
    import ctypes

    real_cdll = ctypes.CDLL

    def cdll(name, *a, **kw):
        if "cudnn" in str(name) or "cudart" in str(name):
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return real_cdll(name, *a, **kw)

    monkeypatch.setattr(onnx_backend, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ctypes, "CDLL", cdll)
    e = Engine(_sg2_file(tmp_path, tiny_sg2), "onnx", device="cuda:0", threads=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e.map(_z(1, 32))
    messages = [str(w.message) for w in caught if "CUDA was requested" in str(w.message)]
    assert messages and "cannot load libcudart" in messages[0]
    assert e.provider == "CPUExecutionProvider" and "libcudart" in e.describe()["warnings"][0]


def test_cuda_library_names_follow_the_onnxruntime_build():
    """onnxruntime-gpu 1.2x links CUDA 12, 1.3x CUDA 13 (seen on an H100 with 1.31.1: cuda_version '13.0')."""
    assert onnx_backend.cuda_libraries("12.8", "linux") == (
        "libcudart.so.12",
        "libcublasLt.so.12",
        "libcublas.so.12",
        "libcufft.so.11",
        "libcudnn.so.9",
    )
    linux13 = onnx_backend.cuda_libraries("13.0", "linux")
    assert linux13[0] == "libcudart.so.13" and linux13[3] == "libcufft.so.12"
    assert onnx_backend.cuda_libraries("13.0", "win32")[0] == "cudart64_13.dll"
    assert onnx_backend.cuda_libraries()[0].startswith("libcudart.so.")  # this build, whatever it is


def test_cuda_provider_options_and_iobinding_path(tmp_path, tiny_sg2, monkeypatch):
    monkeypatch.setattr(onnx_backend, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    providers, reason = onnx_backend.providers_for("cuda:1")
    assert reason is None and providers[-1] == "CPUExecutionProvider"
    name, options = providers[0]
    assert name == "CUDAExecutionProvider" and options["device_id"] == 1
    assert options["cudnn_conv_algo_search"] == "EXHAUSTIVE" and options["use_tf32"] == "0"

    m = _sg2_file(tmp_path, tiny_sg2)
    e = Engine(m, "onnx", threads=1)
    ws = e.map(_z(4, 32))
    plain = e.synthesize(ws)
    e._graphs["synthesis-const"].iobinding = True  # the CUDA path, bound to the CPU here
    assert np.array_equal(e.synthesize(ws), plain)


# --- precision, threads, describe ----------------------------------------------------------------------------------


def test_preview_precision(tmp_path, tiny_sg2):
    from bigart.engine.engine import preview_precision

    m = _sg2_file(tmp_path, tiny_sg2)
    full, fast = Engine(m, "torch", threads=1), Engine(m, "torch", precision="preview", threads=1)
    assert fast.precision == preview_precision("torch", "cpu") in ("bf16", "fp32")
    assert Engine(m, "onnx", precision="preview").precision == "fp32"  # no faster half precision on ORT's CPU
    ws = full.map(_z(2, 32), psi=0.7)
    diff = np.abs(full.synthesize(ws) - fast.synthesize(ws)).max()
    assert diff <= (0.15 if fast.precision == "bf16" else 1e-6)
    assert fast.describe()["precision"] == fast.precision
    with pytest.raises(BigartError, match="precision"):
        Engine(m, "torch", precision="fp8")


def test_describe_and_threads(tmp_path, tiny_sg2):
    from bigart.engine.threads import physical_cores

    m = _sg2_file(tmp_path, tiny_sg2)
    e = Engine(m, "onnx")
    assert e.describe()["provider"] == "not started" and e.threads == physical_cores()
    e.synthesize(e.map(_z(1, 32)))
    info = e.describe()
    assert info["backend"] == "onnx" and info["providers"] == ["CPUExecutionProvider"]
    assert info["threads"] == physical_cores() and "onnxruntime" in info
    assert "warnings" not in info


def test_export_onnx_folder(tmp_path, tiny_sg2):
    import onnxruntime as ort

    m = _sg2_file(tmp_path, tiny_sg2)
    written = export_onnx(m, tmp_path / "out")
    assert sorted(p.name for p in written) == ["mapping.onnx", "synthesis-const.onnx", "synthesis-none.onnx"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["family"] == "stylegan2" and len(manifest["w_avg"]) == 24 and manifest["num_ws"] == 6
    # a caller with nothing but the folder and onnxruntime: mapping, truncation in numpy, synthesis
    mapping = ort.InferenceSession(str(tmp_path / "out" / "mapping.onnx"))
    synthesis = ort.InferenceSession(str(tmp_path / "out" / "synthesis-const.onnx"))
    w = mapping.run(None, {"z": _z(3, 32)})[0]
    w_avg = np.array(manifest["w_avg"], np.float32)
    ws = np.repeat((w_avg + 0.7 * (w - w_avg))[:, None], manifest["num_ws"], axis=1)
    img = synthesis.run(None, {"ws": ws})[0]
    ref = Engine(m, "torch", threads=1).synthesize(Engine(m, "torch", threads=1).map(_z(3, 32), psi=0.7))
    assert np.abs(img - ref).max() <= TOL


def test_fp16_graph_verified_or_refused(tmp_path, tiny_sg2, monkeypatch):
    """The CUDA preview path (fp16 graph, verified against torch, cached apart), exercised on the CPU provider."""
    m = _sg2_file(tmp_path, tiny_sg2)
    e = Engine(m, "onnx", threads=1)
    ws = e.map(_z(2, 32))
    ref = e.synthesize(ws)
    graph = e._graphs["synthesis-const"]
    graph._try_fp16(m.sha256, ["CPUExecutionProvider"])
    assert graph.precision == "fp16" and graph.fp16_path != graph.path
    assert graph.info["precision"] == "fp16" and graph.info["max_abs_diff"] <= onnx_backend.FP16_TOLERANCE
    assert np.abs(graph.run(ws) - ref).max() <= onnx_backend.FP16_TOLERANCE

    monkeypatch.setattr(onnx_backend, "FP16_TOLERANCE", 1e-12)
    strict = Engine(m, "onnx", threads=1)
    strict.synthesize(ws, "none")
    graph = strict._graphs["synthesis-none"]
    with pytest.warns(UserWarning, match="previews run in fp32"):
        graph._try_fp16(m.sha256, ["CPUExecutionProvider"])
    assert graph.precision == "fp32" and np.array_equal(graph.run(ws), strict.synthesize(ws, "none"))

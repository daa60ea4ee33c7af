"""The render service: latest wins under a flood of submissions, errors come back as results, no thread leaks."""

from __future__ import annotations

import threading
import time

import numpy as np

from bigart.engine.engine import Engine
from bigart.engine.request import RenderRequest
from bigart.explore import RenderService
from tests.engine.test_engine import _sg2_file


class SlowEngine(Engine):
    """A real engine that also takes ``delay`` seconds per render (a big model on a slow CPU)."""

    delay = 0.05

    def synthesize(self, ws, noise_mode="const"):
        time.sleep(self.delay)
        return super().synthesize(ws, noise_mode)


def test_a_thousand_rapid_submissions(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    engine = SlowEngine(m, "torch", threads=1)
    delivered = []
    before = threading.active_count()
    with RenderService(engine, on_result=lambda r, q: delivered.append((r, q))) as service:
        for i in range(1000):
            stamp = service.submit(RenderRequest(seeds=(i,), psi=0.7))
        final = service.wait(stamp, timeout=30)
        assert final is not None and final.stamp == stamp == 1000 and final.ok
    assert threading.active_count() == before and not service.alive
    assert 1 <= service.renders <= 5, service.renders  # a few renders, not a thousand
    assert service.renders + service.skipped == 1000
    expected = Engine(m, "torch", threads=1).render(RenderRequest(seeds=(999,), psi=0.7))
    assert np.array_equal(final.image, expected.image)  # the last result is the last request's image
    assert delivered[-1][1] == RenderRequest(seeds=(999,), psi=0.7)
    assert [r.stamp for r, _ in delivered] == sorted(r.stamp for r, _ in delivered)


def test_errors_are_results_and_the_service_keeps_working(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    with RenderService(Engine(m, "torch", threads=1)) as service:
        bad = service.wait(service.submit(RenderRequest(seeds=(1,), class_weights=((0, 1.0),))))
        assert not bad.ok and "not class-conditional" in bad.error
        good = service.wait(service.submit(RenderRequest(seeds=(1,))))
        assert good.ok and good.image.shape == (16, 16, 3)
        # an equal request is not rendered twice
        renders = service.renders
        assert service.submit(RenderRequest(seeds=(1,))) == good.stamp
        assert service.renders == renders


def test_a_crashing_engine_does_not_kill_the_thread(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)

    class Broken(Engine):
        def render(self, request, stamp=0, ws=None):
            if request.seeds == (13,):
                raise RuntimeError("driver lost")
            return super().render(request, stamp, ws)

    with RenderService(Broken(m, "torch", threads=1)) as service:
        r = service.wait(service.submit(RenderRequest(seeds=(13,))))
        assert r.error == "RuntimeError: driver lost" and service.alive
        assert service.wait(service.submit(RenderRequest(seeds=(14,)))).ok


def test_mapping_cache_gives_the_same_pixels(tmp_path, tiny_sg2):
    from bigart.engine.request import FrozenArray

    m = _sg2_file(tmp_path, tiny_sg2)
    engine = Engine(m, "torch", threads=1)
    v = FrozenArray.of(np.random.RandomState(0).randn(m.generator.w_dim))
    with RenderService(engine) as service:
        for strength in (0.0, 1.0, 2.0):  # the same mapping, three direction strengths
            request = RenderRequest(seeds=(5,), psi=0.6, directions=((v, strength),) if strength else ())
            got = service.wait(service.submit(request))
            assert np.array_equal(got.image, engine.render(request).image)
        assert len(service._cache) == 1

"""The canvas: shows the newest render, fit to the view or at any zoom, over a checkerboard where it is transparent,
optionally split into before | after (a translation's input and output) with a handle to drag."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

ZOOM_MIN, ZOOM_MAX, ZOOM_STEP = 1 / 32, 64.0, 1.25
HANDLE_GRAB = 8
FIT_MARGIN = 8  # pixels around a fitted image  # pixels either side of the split line that grab it


def qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of uint8 ``[H, W, 1|3|4]`` pixels."""
    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    fmt = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}[c]
    return QImage(pixels.data, w, h, w * c, fmt).copy()


def _checkerboard(size: int = 8) -> QBrush:
    tile = QPixmap(2 * size, 2 * size)
    tile.fill(QColor(204, 204, 204))
    p = QPainter(tile)
    p.fillRect(0, 0, size, size, QColor(153, 153, 153))
    p.fillRect(size, size, size, size, QColor(153, 153, 153))
    p.end()
    return QBrush(tile)


class Canvas(QWidget):
    """Displays uint8 images; ``show_image`` drops any image older than the one shown."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.placeholder = "Open a model (Ctrl+O), or drop a model file or a bigart PNG here"
        self._pixels: np.ndarray | None = None
        self._image: QImage | None = None
        self._before: QImage | None = None
        self._key: tuple[int, int] | None = None
        self._fit = True
        self._zoom = 1.0
        self._center = QPointF(0, 0)  # image point at the centre of the view (when not fitting)
        self._split_enabled = False
        self.split = 0.5  # fraction of the image width showing "before"
        self._drag: tuple[str, QPointF] | None = None
        self._checker = _checkerboard()

    # -- what is shown ---------------------------------------------------------------------------------------------
    @property
    def image(self) -> np.ndarray | None:
        """The uint8 ``[H, W, C]`` pixels shown (read-only), or None."""
        return self._pixels

    @property
    def qimage(self) -> QImage | None:
        return self._image

    @property
    def shown_key(self) -> tuple[int, int] | None:
        return self._key

    def show_image(self, key: tuple[int, int], pixels: np.ndarray) -> bool:
        """Show ``pixels`` unless an image with a newer ``key`` (generation, stamp) is shown; returns whether shown."""
        if self._key is not None and key < self._key:
            return False
        pixels = np.array(pixels, np.uint8, copy=True)
        pixels.flags.writeable = False
        resized = self._pixels is None or self._pixels.shape[:2] != pixels.shape[:2]
        self._key, self._pixels, self._image = key, pixels, qimage(pixels)
        if resized and not self._fit:
            self._center = QPointF(pixels.shape[1] / 2, pixels.shape[0] / 2)
        self.update()
        return True

    def clear(self, placeholder: str | None = None) -> None:
        """Show nothing (a new model, or nothing to render yet); the next image of any key is shown."""
        self._key, self._pixels, self._image = None, None, None
        if placeholder is not None:
            self.placeholder = placeholder
        self.update()

    def set_before(self, pixels: np.ndarray | None) -> None:
        """The "before" image of the split view (a translation's input)."""
        self._before = None if pixels is None else qimage(pixels)
        self.update()

    @property
    def split_enabled(self) -> bool:
        return self._split_enabled

    def set_split_enabled(self, enabled: bool) -> None:
        self._split_enabled = bool(enabled)
        self.update()

    # -- zoom and pan ----------------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._fit_zoom() if self._fit else self._zoom

    @property
    def fitting(self) -> bool:
        return self._fit

    def fit(self) -> None:
        self._fit = True
        self.update()
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (view coordinates; default the centre) still."""
        if self._image is None:
            return
        zoom = min(max(zoom, ZOOM_MIN), ZOOM_MAX)
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self._to_image(anchor)
        if self._fit:
            self._center = self._view_center_in_image()
        self._fit, self._zoom = False, zoom
        after = self._to_image(anchor)
        self._center += before - after
        self.update()
        self.zoom_changed.emit(self.zoom)

    def _fit_zoom(self) -> float:
        if self._image is None or self._image.width() == 0:
            return 1.0
        m = 2 * FIT_MARGIN
        return max(min((self.width() - m) / self._image.width(), (self.height() - m) / self._image.height()), ZOOM_MIN)

    def _view_center_in_image(self) -> QPointF:
        if self._image is None:
            return QPointF(0, 0)
        if self._fit:
            return QPointF(self._image.width() / 2, self._image.height() / 2)
        return QPointF(self._center)

    def _target(self) -> QRectF:
        """Where the image lies in view coordinates."""
        z = self.zoom
        c = self._view_center_in_image()
        w, h = self._image.width() * z, self._image.height() * z
        x = self.width() / 2 - c.x() * z
        y = self.height() / 2 - c.y() * z
        return QRectF(x, y, w, h)

    def _to_image(self, p: QPointF) -> QPointF:
        t = self._target()
        z = self.zoom
        return QPointF((p.x() - t.x()) / z, (p.y() - t.y()) / z)

    def _split_x(self) -> float:
        t = self._target()
        return t.x() + t.width() * self.split

    def _splitting(self) -> bool:
        return self._split_enabled and self._before is not None and self._image is not None

    # -- painting ----------------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window().color().darker(115))
        if self._image is None:
            p.setPen(self.palette().windowText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        target = self._target()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0)
        if self._image.hasAlphaChannel() or (self._splitting() and self._before.hasAlphaChannel()):
            p.setBrushOrigin(target.topLeft())
            p.fillRect(target, self._checker)
        if self._splitting():
            x = self._split_x()
            p.save()
            p.setClipRect(QRectF(target.x(), target.y(), x - target.x(), target.height()))
            p.drawImage(target, self._before, QRectF(self._before.rect()))
            p.restore()
            p.save()
            p.setClipRect(QRectF(x, target.y(), target.right() - x, target.height()))
            p.drawImage(target, self._image, QRectF(self._image.rect()))
            p.restore()
            self._paint_split_handle(p, target, x)
        else:
            p.drawImage(target, self._image, QRectF(self._image.rect()))

    def _paint_split_handle(self, p: QPainter, target: QRectF, x: float) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(255, 255, 255, 230), 2))
        p.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
        mid = QPointF(x, target.center().y())
        p.setBrush(QColor(40, 40, 40, 200))
        p.drawEllipse(mid, 9, 9)
        fm = p.fontMetrics()
        for text, left in (("before", True), ("after", False)):
            w = fm.horizontalAdvance(text) + 10
            box = QRectF(x - w - 6 if left else x + 6, max(target.top(), 0) + 6, w, fm.height() + 4)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 150))
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(255, 255, 255))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- mouse -------------------------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._image is None:
            return
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * ZOOM_STEP**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._image is None:
            return super().mousePressEvent(event)
        pos = event.position()
        if self._splitting() and abs(pos.x() - self._split_x()) <= HANDLE_GRAB:
            self._drag = ("split", pos)
        else:
            self._drag = ("pan", pos)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag is None:
            near = self._splitting() and abs(pos.x() - self._split_x()) <= HANDLE_GRAB
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)
            return
        kind, last = self._drag
        if kind == "split":
            t = self._target()
            self.split = min(max((pos.x() - t.x()) / max(t.width(), 1.0), 0.0), 1.0)
        else:
            if self._fit:  # panning leaves fit mode at the fitted zoom
                self._center, self._zoom, self._fit = self._view_center_in_image(), self._fit_zoom(), False
            self._center -= (pos - last) / self.zoom
        self._drag = (kind, pos)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.ArrowCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit()

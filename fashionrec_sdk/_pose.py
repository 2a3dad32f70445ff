"""Person pose and silhouette from one photo (MediaPipe BlazePose models, run as ONNX).

The contract shared by the body-measurement estimate and the try-on simulation is the
:class:`Pose` value: 33 BlazePose landmarks in the *input image's* pixel coordinates and
a person-probability mask at the input image's resolution.

:class:`PoseEstimator` produces it with the models of the vision bundle
(``fashionrec_sdk/models/vision``, converted by ``export/convert_mediapipe.py``) and
numpy only, following MediaPipe's BlazePose CPU graph:

1. ``pose_detector`` on the image letterboxed to 224x224, SSD anchor decoding and
   weighted non-maximum suppression (:mod:`._pose_decode`);
2. a rotated square region of interest from the detection's hip-centre and
   body-circle keypoints (rotation so the body points up, side 2.5x the circle radius);
3. ``pose_landmarks`` on that region warped to 256x256; landmarks are projected back to
   image pixels; its segmentation output, warped back, is the person mask inside the
   region, and ``person_segmentation`` (run on the whole image) fills in outside it.

Large photos are analysed at a working size (long side at most :data:`MAX_WORK_SIDE`
pixels): the models see 224 and 256 px inputs anyway, so only the cost grows with the
photo. The returned :class:`Pose` is still in the input image's pixels (landmarks
scaled back, mask resized to the input size).

:func:`default_estimator` is the one shared estimator over the shipped vision bundle,
built on first use; the try-on and the body estimate use it when given no estimator.

Not done (MediaPipe does them for video or as refinements): temporal smoothing and the
heatmap refinement of landmark positions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ._errors import InvalidInputError
from ._images import ImageInput, load_image
from ._pose_decode import Roi, detect, letterbox, person_mask, project_landmarks, warp_to_roi

if TYPE_CHECKING:
    from ._bundle import ModelBundle

__all__ = [
    "LANDMARKS",
    "MAX_WORK_SIDE",
    "MIN_IMAGE_SIDE",
    "MIN_VISIBILITY",
    "Pose",
    "PoseEstimator",
    "PoseSource",
    "check_side",
    "default_estimator",
    "working_image",
]

#: Images with a side shorter than this (pixels) are refused (pose, try-on, body).
MIN_IMAGE_SIDE = 64
#: A landmark counts as seen when its visibility is at least this.
MIN_VISIBILITY = 0.5
#: Photos are analysed with their long side at most this many pixels.
MAX_WORK_SIDE = 1280
#: Person area outside the detected person's region, relative to that person's area,
#: above which the photo is taken to show someone else too.
OTHER_PERSON_RATIO = 0.25

#: BlazePose's 33 landmark names, in model output order.
LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
_INDEX = {name: i for i, name in enumerate(LANDMARKS)}


@dataclass(frozen=True)
class Pose:
    """One person's pose in one image.

    Attributes:
        landmarks: ``(33, 4)`` float32 rows ``(x, y, z, visibility)``; ``x``/``y`` in
            pixels of the input image (origin top-left), ``z`` relative depth in the same
            pixel scale (smaller = nearer the camera, hips' midpoint = 0), ``visibility``
            in [0, 1] (how likely the point is visible and inside the image).
        mask: ``(height, width)`` float32 person probability in [0, 1], same size as the
            input image.
        score: person-detection confidence in [0, 1].
    """

    landmarks: NDArray[np.float32]
    mask: NDArray[np.float32]
    score: float

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the image the pose was estimated on."""
        return int(self.mask.shape[1]), int(self.mask.shape[0])

    def point(self, name: str) -> tuple[float, float]:
        """``(x, y)`` pixel position of the landmark ``name`` (see :data:`LANDMARKS`)."""
        row = self.landmarks[_INDEX[name]]
        return float(row[0]), float(row[1])

    def visibility(self, name: str) -> float:
        """Visibility in [0, 1] of the landmark ``name``."""
        return float(self.landmarks[_INDEX[name], 3])


class PoseSource(Protocol):
    """Anything that estimates a :class:`Pose` (:class:`PoseEstimator`, a test double).

    The try-on and the body estimate call ``estimate`` with a decoded RGB image, at
    most :data:`MAX_WORK_SIDE` pixels on its long side.
    """

    def estimate(self, image: Image.Image, /) -> Pose:
        """Pose of the one person in ``image``."""
        ...


def check_side(img: Image.Image, *, field: str, purpose: str) -> None:
    """Refuse ``img`` (``InvalidInputError(field=field)``) when a side is under
    :data:`MIN_IMAGE_SIDE` pixels."""
    width, height = img.size
    if min(width, height) < MIN_IMAGE_SIDE:
        raise InvalidInputError(
            f"{field}: {width}x{height} is too small for {purpose}; each side must be at "
            f"least {MIN_IMAGE_SIDE} pixels",
            field=field,
        )


def working_image(img: Image.Image, max_side: int = MAX_WORK_SIDE) -> tuple[Image.Image, float]:
    """``img`` downscaled so its long side is at most ``max_side``, and the scale used
    (working pixels per input pixel, 1.0 when it was small enough already)."""
    w, h = img.size
    if max(w, h) <= max_side:
        return img, 1.0
    k = max_side / max(w, h)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0), k


class PoseEstimator:
    """Single-person BlazePose estimator over the vision bundle's ONNX models.

    Args:
        bundle: a loaded vision bundle with ``pose_detector``, ``pose_landmarks`` and
            ``person_segmentation``; ``None`` loads the bundle shipped in the package.
        min_detection_score: a detection below this (after sigmoid) is not a person.
        min_presence: a landmark-model pose presence below this means "no person".

    Deterministic: the same image always gives the same :class:`Pose`.
    """

    def __init__(
        self,
        bundle: ModelBundle | None = None,
        *,
        min_detection_score: float = 0.5,
        min_presence: float = 0.5,
    ) -> None:
        from ._bundle import ModelBundle
        from ._paths import SHIPPED_VISION_BUNDLE

        self.bundle = bundle if bundle is not None else ModelBundle.load(SHIPPED_VISION_BUNDLE)
        for name in ("pose_detector", "pose_landmarks", "person_segmentation"):
            if not self.bundle.has(name):
                raise InvalidInputError(
                    f"bundle {self.bundle.path} has no {name!r} model; it is not a vision "
                    f"bundle (models: {list(self.bundle.model_names)})",
                    field="bundle",
                )
        self.min_detection_score = float(min_detection_score)
        self.min_presence = float(min_presence)

    def estimate(self, image: ImageInput, /) -> Pose:
        """Pose of the one person in ``image`` (path, bytes or PIL image).

        Raises:
            InvalidInputError: (``field="image"``) the image cannot be decoded, has a side
                under :data:`MIN_IMAGE_SIDE` pixels, shows no person, or shows several.
        """
        img = load_image(image, field="image")
        width, height = img.size
        check_side(img, field="image", purpose="pose estimation")
        work, k = working_image(img)
        rgb = np.asarray(work, dtype=np.float32) / np.float32(255.0)
        det_input, frame = letterbox(work)
        boxes, scores = self._run("pose_detector", det_input)
        detections = detect(boxes[0], scores[0, :, 0], frame, self.min_detection_score)
        if not detections:
            raise InvalidInputError(
                "image: no person found (no detection above "
                f"{self.min_detection_score:.2f} confidence)",
                field="image",
            )
        if len(detections) > 1:
            raise InvalidInputError(
                f"image: several people found ({len(detections)} separate detections); "
                "use a photo of one person",
                field="image",
            )
        det = detections[0]
        roi = Roi.from_keypoints(det.keypoints[0], det.keypoints[1])  # working pixels
        crop = warp_to_roi(rgb, roi, 256)
        raw, flag, seg, _heat, _world = self._run("pose_landmarks", crop[None])
        presence = float(np.clip(flag.reshape(-1)[0], 0.0, 1.0))
        if presence < self.min_presence:
            raise InvalidInputError(
                f"image: no person found (pose presence {presence:.2f} < {self.min_presence:.2f})",
                field="image",
            )
        roi = roi.scaled(1.0 / k)  # input pixels
        landmarks = project_landmarks(raw.reshape(-1, 5)[: len(LANDMARKS)], roi, 256, width, height)
        full = np.asarray(work.resize((256, 256), Image.Resampling.BILINEAR), dtype=np.float32)
        (selfie,) = self._run("person_segmentation", full[None] / np.float32(255.0))
        mask, elsewhere = person_mask(seg[0, :, :, 0], selfie[0, :, :, 0], roi, width, height)
        if elsewhere > OTHER_PERSON_RATIO:
            raise InvalidInputError(
                "image: several people found (a second person-shaped region, "
                f"{elsewhere:.1f}x the detected person's area, lies outside the detected "
                "person); use a photo of one person",
                field="image",
            )
        return Pose(landmarks=landmarks, mask=mask, score=float(det.score))

    def _run(self, model: str, x: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        from ._onnx import run_session

        session = self.bundle.session(model)
        name = session.get_inputs()[0].name
        return run_session(session, {name: np.ascontiguousarray(x, dtype=np.float32)}, model=model)


_DEFAULT: PoseEstimator | None = None
_DEFAULT_LOCK = threading.Lock()


def default_estimator() -> PoseEstimator:
    """The process-wide :class:`PoseEstimator` over the shipped vision bundle.

    Built once, on first use (loading and hash-checking the models takes a few hundred
    ms), then shared; thread-safe (ONNX Runtime sessions may be run concurrently).
    """
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = PoseEstimator()
    return _DEFAULT

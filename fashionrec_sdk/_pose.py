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

Not done (MediaPipe does them for video or as refinements): temporal smoothing and the
heatmap refinement of landmark positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidInputError
from ._images import ImageInput, load_image
from ._pose_decode import Roi, detect, letterbox, person_mask, project_landmarks, warp_to_roi

if TYPE_CHECKING:
    from ._bundle import ModelBundle

__all__ = ["LANDMARKS", "MIN_IMAGE_SIDE", "Pose", "PoseEstimator"]

#: Images with a side shorter than this (pixels) are refused.
MIN_IMAGE_SIDE = 64
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
        if min(width, height) < MIN_IMAGE_SIDE:
            raise InvalidInputError(
                f"image: {width}x{height} is too small for pose estimation; each side must "
                f"be at least {MIN_IMAGE_SIDE} pixels",
                field="image",
            )
        rgb = np.asarray(img, dtype=np.float32) / np.float32(255.0)
        det_input, frame = letterbox(img)
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
        roi = Roi.from_keypoints(det.keypoints[0], det.keypoints[1])
        crop = warp_to_roi(rgb, roi, 256)
        raw, flag, seg, _heat, _world = self._run("pose_landmarks", crop[None])
        presence = float(np.clip(flag.reshape(-1)[0], 0.0, 1.0))
        if presence < self.min_presence:
            raise InvalidInputError(
                f"image: no person found (pose presence {presence:.2f} < {self.min_presence:.2f})",
                field="image",
            )
        landmarks = project_landmarks(raw.reshape(-1, 5)[: len(LANDMARKS)], roi, 256, width, height)
        full = np.asarray(img.resize((256, 256), _bilinear()), dtype=np.float32) / np.float32(255.0)
        (selfie,) = self._run("person_segmentation", full[None])
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


def _bilinear() -> int:
    from PIL import Image

    return int(Image.Resampling.BILINEAR)

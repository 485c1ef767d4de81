"""Generated photos: abstract images (gradients and shapes, never faces or real photos) and the
re-encoded, resized, cropped and watermarked copies that sites show.

A persona's *original* photo is fixed by the corpus seed, its owner and its index. Each ad site
shows its own copy: cropped a little, resized, colour-shifted, watermarked with the site's name
and saved at another JPEG quality. So the files of a reused photo (a repost on another site, a
network persona reusing another's photos, a scammer's stolen photos) never have the same bytes,
while their perceptual hashes (PDQ) stay close; photos of different sets are far apart.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from signaal.synth.config import SynthConfig
from signaal.synth.render import PhotoTask

BATCH = 250


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@lru_cache(maxsize=64)
def original(seed: int, owner: str, index: int, size: tuple[int, int]) -> Image.Image:
    """The original photo ``index`` of persona ``owner``: a gradient with large soft shapes."""
    rng = random.Random(_seed(seed, "photo", owner, index))  # noqa: S311 (not security)
    w, h = size
    c1 = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    c2 = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    # The smooth background is computed small and scaled up (it has no fine detail anyway).
    sw, sh = 32, 40
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    ramp = (np.cos(angle) * xx / sw + np.sin(angle) * yy / sh + 1.0) / 2.0
    freq = rng.uniform(1.0, 3.0)
    wave = 0.15 * np.sin(2 * np.pi * freq * (xx / sw) + rng.uniform(0, 6.28))
    t = np.clip(ramp + wave, 0.0, 1.0)[..., None]
    small = (c1 * (1 - t) + c2 * t).astype(np.uint8)
    img = Image.fromarray(small, "RGB").resize((w, h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 6)):
        x0, y0 = rng.randrange(-w // 4, w), rng.randrange(-h // 4, h)
        x1, y1 = x0 + rng.randrange(w // 5, w // 1), y0 + rng.randrange(h // 5, h // 1)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            pts = [(rng.randrange(w), rng.randrange(h)) for _ in range(3)]
            draw.polygon(pts, fill=colour)
    return img


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # The small bitmap font renders several times faster than the scalable default.
    return ImageFont.load_default_imagefont()


def variant(cfg: SynthConfig, task: PhotoTask) -> Image.Image:
    """The copy a site shows: cropped 0-1 % per side, resized, colour-shifted, watermarked."""
    base = original(cfg.seed, task.owner, task.index, cfg.photo_size)
    rng = random.Random(_seed(cfg.seed, "variant", task.variant))  # noqa: S311 (not security)
    w, h = base.size
    box = (
        int(w * rng.uniform(0, 0.01)),
        int(h * rng.uniform(0, 0.01)),
        w - int(w * rng.uniform(0, 0.01)),
        h - int(h * rng.uniform(0, 0.01)),
    )
    img = base.crop(box)
    scale = rng.uniform(0.75, 1.2)
    img = img.resize(
        (max(32, int(img.width * scale)), max(32, int(img.height * scale))),
        Image.Resampling.BILINEAR,
    )
    factor = round(rng.uniform(0.92, 1.08), 2)
    img = img.point(_brightness_lut(factor))
    # A translucent watermark with the site's name, as sites stamp uploads.
    mask = _watermark(task.site)
    img.paste((255, 255, 255), (6, max(0, img.height - 14)), mask)
    return img


@lru_cache(maxsize=32)
def _brightness_lut(factor: float) -> list[int]:
    return [min(255, int(v * factor)) for v in range(256)] * 3


@lru_cache(maxsize=8)
def _watermark(text: str) -> Image.Image:
    """The site's name as an 8-bit mask at 35 % opacity (pasted in white)."""
    font = _font()
    _, _, right, bottom = font.getbbox(text)
    mask = Image.new("L", (int(right) + 2, int(bottom) + 2), 0)
    ImageDraw.Draw(mask).text((0, 0), text, fill=90, font=font)
    return mask


def write_photo(cfg: SynthConfig, out_dir: Path, task: PhotoTask) -> None:
    path = out_dir / task.path
    path.parent.mkdir(parents=True, exist_ok=True)
    quality = 60 + _seed(task.variant, "q") % 33
    variant(cfg, task).save(path, "JPEG", quality=quality, optimize=False)


def _write_batch(cfg: SynthConfig, out_dir: str, tasks: Sequence[PhotoTask]) -> int:
    for task in tasks:
        write_photo(cfg, Path(out_dir), task)
    return len(tasks)


def write_photos(
    cfg: SynthConfig,
    out_dir: Path,
    tasks: Sequence[PhotoTask],
    pool: Executor | None,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Write every photo task (each file's bytes depend only on the config and the task)."""
    batches = [tasks[i : i + BATCH] for i in range(0, len(tasks), BATCH)]
    done = 0
    if pool is None:
        for batch in batches:
            done += _write_batch(cfg, str(out_dir), batch)
            if progress:
                progress("photos", done, len(tasks))
        return
    for n in pool.map(_write_batch, [cfg] * len(batches), [str(out_dir)] * len(batches), batches):
        done += n
        if progress:
            progress("photos", done, len(tasks))

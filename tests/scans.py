"""Synthetic Vietnamese scans with known text, for tests and benchmarks.

Pages are A4 administrative text in Liberation Serif (a Times-metric serif with
every Vietnamese glyph), rendered at 300 dpi (200 dpi for "poor") and degraded
the way a commune centre's scanners degrade them:

- ``clean``: straight, sharp, JPEG q90;
- ``office``: 0.3–1° skew, light blur and noise, JPEG q70–80;
- ``poor``: 200 dpi, 1–2° skew, heavy noise, JPEG q65.

``harsh=True`` (what ``bench/ingest.py`` and the accuracy tests read) degrades
as the scanners of issue 15 did, so that bare Tesseract's CER lands near the
figures measured there on real-world-like scans (clean ≈0.2%, office ≈1.2%,
poor ≈6.7%): uneven lighting, bleed-through of the back side, a red seal and a
signature over the text, stronger blur and JPEG quality 40–60, and for
``poor`` 200 dpi. The seal and signature carry no text of their own, so the
known text is unchanged.

Everything is seeded, so a page is the same bytes on every run. The known text
is NFC, one rendered line per text line; compare with :func:`cer`, which
normalises whitespace, so line breaks never count as errors.
"""

from __future__ import annotations

import difflib
import io
import math
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import img2pdf
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, TiffImagePlugin

Quality = Literal["clean", "office", "poor"]
QUALITIES: tuple[Quality, ...] = ("clean", "office", "poor")

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
A4_MM = (210.0, 297.0)

# Written for these tests in the register of commune documents, so that every
# vowel meets every tone mark (and đ/Đ) many times per page.
SENTENCES: tuple[str, ...] = (
    "Ủy ban nhân dân xã ban hành kế hoạch triển khai thực hiện cơ chế một cửa, "
    "một cửa liên thông trong giải quyết thủ tục hành chính năm 2025.",
    "Bộ phận Một cửa tiếp nhận hồ sơ, kiểm tra tính đầy đủ, hợp lệ của thành phần "
    "hồ sơ và hướng dẫn tổ chức, cá nhân bổ sung, hoàn thiện theo quy định.",
    "Công chức được giao nhiệm vụ số hóa hồ sơ, kết quả giải quyết thủ tục hành "
    "chính có trách nhiệm quét, trích xuất dữ liệu và lưu trữ vào kho điện tử.",
    "Trường hợp hồ sơ quá hạn giải quyết, cơ quan có thẩm quyền gửi văn bản xin "
    "lỗi tổ chức, cá nhân và hẹn lại thời gian trả kết quả.",
    "Người đứng đầu cơ quan, đơn vị chịu trách nhiệm trước Chủ tịch Ủy ban nhân "
    "dân xã về kết quả thực hiện nhiệm vụ được giao.",
    "Đẩy mạnh tái sử dụng dữ liệu đã được số hóa, không yêu cầu người dân nộp lại "
    "giấy tờ mà cơ quan nhà nước đang quản lý.",
    "Tăng cường công tác tuyên truyền, phổ biến để người dân, doanh nghiệp biết và "
    "sử dụng dịch vụ công trực tuyến toàn trình, một phần.",
    "Định kỳ hằng quý, công chức tổng hợp, báo cáo tình hình tiếp nhận, giải quyết "
    "hồ sơ gửi Văn phòng Hội đồng nhân dân và Ủy ban nhân dân xã.",
    "Thời hạn giải quyết được tính kể từ ngày làm việc tiếp theo sau ngày nhận đủ "
    "hồ sơ hợp lệ, không kể ngày nghỉ lễ, Tết và ngày nghỉ hằng tuần.",
    "Giấy tiếp nhận hồ sơ và hẹn trả kết quả được lập thành hai bản, một bản giao "
    "cho người nộp hồ sơ, một bản lưu tại Bộ phận Một cửa.",
    "Kinh phí thực hiện kế hoạch được bố trí từ nguồn ngân sách địa phương và các "
    "nguồn hợp pháp khác theo quy định của pháp luật hiện hành.",
    "Đề nghị các ngành, đoàn thể phối hợp chặt chẽ, kịp thời phản ánh khó khăn, "
    "vướng mắc về Ủy ban nhân dân xã để xem xét, xử lý.",
    "Hồ sơ đăng ký khai sinh gồm tờ khai theo mẫu, giấy chứng sinh và giấy tờ tùy "
    "thân của người đi đăng ký; bản sao được chứng thực từ bản chính.",
    "Chứng thực chữ ký, chứng thực hợp đồng, giao dịch liên quan đến động sản và "
    "quyền sử dụng đất được thực hiện ngay trong ngày tiếp nhận.",
    "Ông Nguyễn Văn Hưởng, sinh ngày 05 tháng 01 năm 1987, thường trú tại thôn Đông "
    "Hưng, đề nghị cấp bản sao trích lục khai sinh.",
    "Bà Trần Thị Thủy, Phó Chủ tịch Ủy ban nhân dân xã, ký thay Chủ tịch đối với "
    "các quyết định thuộc lĩnh vực văn hóa, xã hội.",
    "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ nêu rõ lý do, nội dung cần bổ sung và "
    "thời hạn hoàn thiện để người nộp hồ sơ thực hiện một lần.",
    "Ứng dụng công nghệ thông tin, chuyển đổi số trong chỉ đạo, điều hành, bảo đảm "
    "an toàn, an ninh mạng và bảo vệ dữ liệu cá nhân.",
    "Tiếp tục rà soát, đơn giản hóa thủ tục hành chính, cắt giảm chi phí tuân thủ, "
    "giảm thời gian đi lại của người dân và doanh nghiệp.",
    "Lĩnh vực đất đai, xây dựng, hộ tịch, chứng thực và bảo trợ xã hội có số lượng "
    "hồ sơ lớn nhất trong kỳ báo cáo.",
    "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn đạt chín mươi tám phần trăm; không "
    "có hồ sơ bị trả lại hoặc phải xin lỗi người dân.",
    "Khuyến khích thanh toán trực tuyến phí, lệ phí; niêm yết công khai số điện "
    "thoại đường dây nóng để tiếp nhận phản ánh, kiến nghị.",
    "Văn phòng Ủy ban nhân dân xã là đầu mối theo dõi, đôn đốc, kiểm tra việc thực "
    "hiện và tổng hợp kết quả báo cáo cấp trên.",
    "Căn cứ Nghị định số 118/2025/NĐ-CP ngày 09/6/2025 của Chính phủ về thực hiện "
    "thủ tục hành chính theo cơ chế một cửa, một cửa liên thông;",
    "Quyết định này có hiệu lực kể từ ngày ký; các ông, bà có tên tại Điều 3 chịu "
    "trách nhiệm thi hành Quyết định này.",
    "Mỗi thửa đất được cấp một Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà "
    "ở và tài sản khác gắn liền với đất.",
    "Người yêu cầu trích lục bản sao giấy tờ hộ tịch nộp lệ phí theo mức thu do Hội "
    "đồng nhân dân tỉnh quy định.",
    "Bảo đảm mười phần trăm kết quả giải quyết được cấp bản điện tử, có giá trị pháp "
    "lý như bản giấy, được lưu vào kho dữ liệu.",
    "Thủ trưởng các phòng, ban, ngành ở cấp xã nghiêm túc triển khai; trong quá "
    "trình thực hiện, nếu có vướng mắc, kịp thời phản ánh.",
    "Số hóa hồ sơ phải giữ nguyên số trang, thứ tự trang của bản gốc, độ phân giải "
    "tối thiểu hai trăm điểm ảnh trên mỗi in-sơ.",
    "Quỹ khuyến học của xã trao thưởng cho học sinh giỏi, vượt khó; ghi nhận đóng "
    "góp của nhiều gia đình, dòng họ trên địa bàn.",
)

HEADER_LEFT = ("ỦY BAN NHÂN DÂN", "XÃ GIA LỘC", "Số: 07/KH-UBND")
HEADER_RIGHT = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Gia Lộc, ngày 16 tháng 7 năm 2025",
)


@dataclass(frozen=True)
class QualitySpec:
    dpi: int
    skew_deg: tuple[float, float]  # magnitude range; the sign is random
    blur: float  # Gaussian radius in pixels at this dpi
    noise_sigma: float  # grey levels
    jpeg_quality: tuple[int, int]
    lighting: float = 0.0  # darkest corner's fraction of light lost to uneven lighting
    bleed: float = 0.0  # strength (0–1) of the back side showing through
    stamp: bool = False  # a seal and a signature drawn over the text
    contrast: float = 1.0  # ink-to-paper contrast kept (faded toner below 1)


SPECS: dict[str, QualitySpec] = {
    "clean": QualitySpec(300, (0.0, 0.0), 0.0, 0.0, (90, 90)),
    "office": QualitySpec(300, (0.3, 1.0), 0.6, 10.0, (70, 80)),
    "poor": QualitySpec(200, (1.0, 2.0), 0.8, 34.0, (65, 65)),
}

#: Issue 15's scanners: what the bench and the accuracy thresholds are measured on.
HARSH_SPECS: dict[str, QualitySpec] = {
    "clean": QualitySpec(300, (0.0, 0.2), 0.3, 3.0, (85, 90), lighting=0.05),
    "office": QualitySpec(300, (0.3, 1.2), 1.1, 14.0, (40, 55), lighting=0.25, bleed=0.12,
                          stamp=True, contrast=0.85),
    "poor": QualitySpec(200, (0.8, 2.0), 0.8, 24.0, (40, 50), lighting=0.3, bleed=0.15,
                        stamp=True, contrast=0.75),
}


@dataclass(frozen=True)
class ScanPage:
    """One rendered page: the degraded image, its JPEG encoding and its text."""

    image: Image.Image  # mode "L", after degradation
    jpeg: bytes  # the page as a scanner would store it (JFIF with dpi)
    text: str  # known text, NFC, one rendered line per line
    dpi: int
    quality: str
    skew_deg: float


def _font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "LiberationSerif-Bold.ttf" if bold else "LiberationSerif-Regular.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size_px)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: float) -> list[str]:
    lines: list[str] = []
    current = ""
    limit = width - indent
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if current and font.getlength(trial) > limit:
            lines.append(current)
            current = word
            limit = width
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def render_page(
    quality: Quality = "clean",
    seed: int = 0,
    *,
    header: bool = True,
    extra_lines: Sequence[str] = (),
    paragraphs: Sequence[str] | None = None,
    max_lines: int | None = None,
    noise_sigma: float | None = None,
    dpi: int | None = None,
    harsh: bool = False,
) -> ScanPage:
    """Render one A4 page of Vietnamese administrative text and degrade it.

    ``extra_lines`` are drawn first in the body, one per line (dossier codes,
    citizen IDs, …). ``paragraphs`` replaces the seeded choice of sentences.
    ``max_lines`` caps the body, for short pages in fast tests. ``noise_sigma``
    and ``dpi`` the quality's resolution (e.g. a page bad enough to need rescanning).
    ``harsh`` takes the quality from :data:`HARSH_SPECS`.
    """
    spec = (HARSH_SPECS if harsh else SPECS)[quality]
    if noise_sigma is not None:
        spec = replace(spec, noise_sigma=noise_sigma)
    if dpi is not None:
        spec = replace(spec, dpi=dpi)
    rng = random.Random(f"{quality}:{seed}")
    dpi = spec.dpi
    px_per_mm = dpi / 25.4
    width, height = round(A4_MM[0] * px_per_mm), round(A4_MM[1] * px_per_mm)
    size = round(13 / 72 * dpi)
    font, bold = _font(size), _font(size, bold=True)
    left, right = round(30 * px_per_mm), round(20 * px_per_mm)
    top, bottom = round(20 * px_per_mm), round(20 * px_per_mm)
    pitch = round(size * 1.3)
    body_width = width - left - right

    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    known: list[str] = []
    y = top
    if header:
        # The two columns share their baselines, so a reader (Tesseract, and
        # pdftotext on its text layer) takes each row across the page: the left
        # column's line, then the right's. Issue 15's figures are measured so.
        col_right = left + round(body_width * 0.42)
        for i, (left_line, right_line) in enumerate(zip(HEADER_LEFT, HEADER_RIGHT, strict=True)):
            face = bold if i < 2 else font
            draw.text((left, y + i * pitch), left_line, font=face, fill=0)
            draw.text((col_right, y + i * pitch), right_line, font=face, fill=0)
            known.append(f"{left_line} {right_line}")
        y += 3 * pitch + pitch
    for line in extra_lines:
        draw.text((left, y), line, font=font, fill=0)
        known.append(line)
        y += pitch
    if paragraphs is None:
        pool = list(SENTENCES)
        rng.shuffle(pool)
        paragraphs = [" ".join(pool[i : i + 2]) for i in range(0, len(pool) - 1, 2)]
    indent = round(10 * px_per_mm)
    drawn = 0
    for para in paragraphs:
        para = unicodedata.normalize("NFC", para)
        for j, line in enumerate(_wrap(para, font, body_width, indent)):
            if y + pitch > height - bottom or (max_lines is not None and drawn >= max_lines):
                break
            draw.text((left + (indent if j == 0 else 0), y), line, font=font, fill=0)
            known.append(line)
            y += pitch
            drawn += 1
        else:
            y += round(pitch * 0.35)
            continue
        break

    lo, hi = spec.skew_deg
    skew = rng.uniform(lo, hi) * rng.choice((-1.0, 1.0)) if hi > 0 else 0.0
    if spec.stamp or spec.bleed:
        image = _harsh(page, spec, rng, font, (left, top, width - right, y))
        image = _degrade(image, spec, skew, rng)
    else:
        image = _degrade(page, spec, skew, rng)
    q = rng.randint(*spec.jpeg_quality)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=q, dpi=(dpi, dpi))
    return ScanPage(
        image=image,
        jpeg=buf.getvalue(),
        text="\n".join(known),
        dpi=dpi,
        quality=quality,
        skew_deg=skew,
    )


def _degrade(page: Image.Image, spec: QualitySpec, skew: float, rng: random.Random) -> Image.Image:
    image = page
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
    if spec.blur:
        image = image.filter(ImageFilter.GaussianBlur(spec.blur))
    if spec.noise_sigma:
        np_rng = np.random.default_rng(rng.getrandbits(32))
        arr = np.asarray(image, dtype=np.float32)
        noise = np_rng.normal(0.0, spec.noise_sigma, size=arr.shape).astype(np.float32)
        # Paper is not pure white: a faint tint keeps the noise two-sided.
        arr = arr * 0.92 + 12.0 + noise
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    if spec.lighting or spec.contrast < 1.0:
        arr = np.asarray(image, dtype=np.float32)
        # Faded toner: ink lighter, paper as it was.
        arr = 255.0 - (255.0 - arr) * spec.contrast
        h, w = arr.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        # The lid lets light in unevenly: a smooth fall-off from one corner.
        corner_x, corner_y = rng.choice((0, w)), rng.choice((0, h))
        dist = np.hypot(xs - corner_x, ys - corner_y) / math.hypot(w, h)
        arr *= 1.0 - spec.lighting * np.clip(1.0 - dist, 0.0, 1.0) ** 2
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    return image


def scan_image(image: Image.Image, quality: Quality = "clean", seed: int = 0, *,
               upside_down: bool = False) -> ScanPage:
    """A page drawn elsewhere (a cover sheet or a form rasterised from its PDF at the
    quality's dpi) through the same scanner as :func:`render_page`: skew, blur, noise,
    JPEG; `upside_down` feeds the sheet rotated 180°. Its known text is empty."""
    spec = SPECS[quality]
    rng = random.Random(f"scan:{quality}:{seed}")
    page = image.convert("L")
    if upside_down:
        page = page.rotate(180)
    lo, hi = spec.skew_deg
    skew = rng.uniform(lo, hi) * rng.choice((-1.0, 1.0)) if hi > 0 else 0.0
    degraded = _degrade(page, spec, skew, rng)
    buf = io.BytesIO()
    degraded.save(buf, format="JPEG", quality=rng.randint(*spec.jpeg_quality),
                  dpi=(spec.dpi, spec.dpi))
    return ScanPage(image=degraded, jpeg=buf.getvalue(), text="", dpi=spec.dpi,
                    quality=quality, skew_deg=skew)


def rasterise_pdf(pdf: Path, dpi: int) -> list[Image.Image]:
    """The pages of a PDF as grey images at `dpi` (poppler's pdftoppm), as a printer and
    scanner would see them."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf),
                        f"{tmp}/p"], check=True, capture_output=True)
        images = []
        pngs = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        for path in pngs:
            with Image.open(path) as im:
                images.append(im.convert("L"))
        return images


def _harsh(
    page: Image.Image,
    spec: QualitySpec,
    rng: random.Random,
    font: ImageFont.FreeTypeFont,
    body: tuple[int, int, int, int],
) -> Image.Image:
    """Seal, signature and bleed-through over the rendered page (before skew and blur)."""
    width, height = page.size
    left, top, right, bottom = body
    ink = np.asarray(page, dtype=np.float32) / 255.0  # 1 paper, 0 ink
    light = ink.copy()
    if spec.bleed:
        # The back side: other text, mirrored, blurred by the paper.
        back = Image.new("L", page.size, 255)
        draw = ImageDraw.Draw(back)
        pool = list(SENTENCES)
        rng.shuffle(pool)
        pitch = round(font.size * 1.3)
        y, i = top + rng.randint(0, pitch), 0
        while y < height - pitch * 3:
            draw.text((left, y), _wrap(pool[i % len(pool)], font, right - left, 0)[0],
                      font=font, fill=0)
            y += pitch
            i += 1
        back = back.transpose(Image.Transpose.FLIP_LEFT_RIGHT).filter(
            ImageFilter.GaussianBlur(font.size / 14))
        light *= 1.0 - spec.bleed * (1.0 - np.asarray(back, dtype=np.float32) / 255.0)
    if spec.stamp:
        # A red seal over the signature block, and a signature across text lines.
        layer = Image.new("L", page.size, 255)
        draw = ImageDraw.Draw(layer)
        cx = rng.randint(int(width * 0.55), int(width * 0.75))
        cy = rng.randint(int(top + (bottom - top) * 0.55), int(max(top + 1, bottom - font.size)))
        r = round(font.size * 3.2)
        for k, w in ((0, max(2, font.size // 9)), (round(r * 0.22), max(1, font.size // 14))):
            draw.ellipse((cx - r + k, cy - r + k, cx + r - k, cy + r - k), outline=0, width=w)
        star = [(cx + r * 0.35 * math.cos(a * math.pi / 5 - math.pi / 2) * (1 if a % 2 == 0
                 else 0.4), cy + r * 0.35 * math.sin(a * math.pi / 5 - math.pi / 2)
                 * (1 if a % 2 == 0 else 0.4)) for a in range(10)]
        draw.polygon(star, outline=0, width=max(1, font.size // 14))
        # Red ink in a grey scan: a mid-grey that darkens what lies under it.
        seal = np.asarray(layer.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32) / 255
        light *= 1.0 - 0.3 * (1.0 - seal)
        sign = Image.new("L", page.size, 255)
        draw = ImageDraw.Draw(sign)
        sx, sy = cx - r * 1.6, cy + r * 0.2
        points = []
        for t in range(60):
            points.append((sx + t * r * 0.05 + rng.uniform(-3, 3),
                           sy + math.sin(t / 4.0 + rng.random()) * r * 0.25
                           + rng.uniform(-3, 3)))
        draw.line(points, fill=0, width=max(2, font.size // 12), joint="curve")
        light *= np.asarray(sign.filter(ImageFilter.GaussianBlur(0.8)),
                            dtype=np.float32) / 255 * 0.5 + 0.5
    return Image.fromarray(np.clip(light * 255.0, 0, 255).astype(np.uint8), mode="L")


def render_document(
    n_pages: int,
    quality: Quality = "clean",
    seed: int = 0,
    *,
    extra_lines: Sequence[str] = (),
    max_lines: int | None = None,
    harsh: bool = False,
) -> list[ScanPage]:
    """Pages of one document: header on page 1, ``extra_lines`` on page 1."""
    return [
        render_page(
            quality,
            seed * 1000 + i,
            header=i == 0,
            extra_lines=extra_lines if i == 0 else (),
            max_lines=max_lines,
            harsh=harsh,
        )
        for i in range(n_pages)
    ]


# --- writing files -----------------------------------------------------------


def write_pdf(pages: Iterable[ScanPage], path: Path) -> Path:
    """A scanner-style PDF: one JPEG per page, embedded as is (no recompression)."""
    path.write_bytes(img2pdf.convert([p.jpeg for p in pages]))
    return path


def write_jpeg(page: ScanPage, path: Path) -> Path:
    path.write_bytes(page.jpeg)
    return path


def write_png(page: ScanPage, path: Path) -> Path:
    page.image.save(path, format="PNG", dpi=(page.dpi, page.dpi), compress_level=1)
    return path


def write_tiff(pages: Sequence[ScanPage], path: Path) -> Path:
    """A multi-page TIFF (LZW), as many flatbed scanners write."""
    # Frame by frame: Pillow 13's save_all fails when appended frames carry a
    # resolution ("function takes exactly 6 arguments").
    with TiffImagePlugin.AppendingTiffWriter(str(path), True) as tf:
        for page in pages:
            page.image.save(tf, format="TIFF", compression="tiff_lzw", dpi=(page.dpi, page.dpi))
            tf.newFrame()
    return path


# --- measuring ---------------------------------------------------------------


def normalise(text: str) -> str:
    """NFC, U+2044 as '/', all whitespace runs as one space."""
    text = unicodedata.normalize("NFC", text).replace("\u2044", "/")
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance by Myers/Hyyrö bit-parallelism: Python ints are the bit vectors.

    One pass over ``b`` with big-int operations on ``len(a)`` bits, so a page
    against a page (≈4,000 characters each) takes milliseconds, not seconds.
    """
    if not a:
        return len(b)
    if not b:
        return len(a)
    m = len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | ~(xh | pv)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = (ph << 1) | 1  # "| 1": row 0 of the matrix grows (global distance)
        mh <<= 1
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv & mask
    return score


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate in percent, on :func:`normalise`d text."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 100.0
    return 100.0 * levenshtein(ref, hyp) / len(ref)


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base.replace("đ", "d").replace("Đ", "D")


def diacritic_accuracy(reference: str, hypothesis: str) -> float:
    """Share (percent) of reference words with marks whose marks came out right.

    Words are aligned on their unmarked spelling, so only words whose letters
    were read correctly are judged: this isolates tone and vowel marks from
    ordinary character errors (which :func:`cer` already counts).
    """
    ref_words = normalise(reference).split()
    hyp_words = normalise(hypothesis).split()
    matcher = difflib.SequenceMatcher(
        a=[strip_marks(w) for w in ref_words],
        b=[strip_marks(w) for w in hyp_words],
        autojunk=False,
    )
    judged = right = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            ref_word = ref_words[block.a + k]
            if ref_word == strip_marks(ref_word):
                continue
            judged += 1
            right += ref_word == hyp_words[block.b + k]
    return 100.0 if judged == 0 else 100.0 * right / judged

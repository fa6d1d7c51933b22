"""Draw the app's icons (the favicon's funnel, white on the accent blue) as PNG files.

Run once when the design changes: `.venv/bin/python -m crm.icons`; the files it writes are
kept in crm/static/icons/. Plain Python (zlib and struct), so no imaging library is needed.
"""

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent / "static" / "icons"
BLUE = (0x1D, 0x4E, 0xD8)
WHITE = (0xFF, 0xFF, 0xFF)
# The favicon's funnel, on its 32 x 32 grid.
FUNNEL = [(7, 9), (25, 9), (19, 17), (19, 23), (13, 26), (13, 17)]
SAMPLES = 4  # per side of a pixel, for smooth edges


def inside(polygon, x, y):
    """Whether the point is inside the polygon (even-odd rule)."""
    found = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            found = not found
    return found


def in_rounded_square(x, y, radius):
    """Whether the point is inside the 32 x 32 square with corners rounded by `radius`."""
    cx = min(max(x, radius), 32 - radius)
    cy = min(max(y, radius), 32 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def draw(size, corner, scale):
    """RGBA rows: the funnel scaled by `scale` about the centre, on a square with `corner`."""
    rows = []
    step = 32 / size / SAMPLES
    for py in range(size):
        row = bytearray()
        for px in range(size):
            background = funnel = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px * SAMPLES + sx + 0.5) * step
                    y = (py * SAMPLES + sy + 0.5) * step
                    if corner == 0 or in_rounded_square(x, y, corner):
                        background += 1
                        if inside(FUNNEL, 16 + (x - 16) / scale, 16 + (y - 16) / scale):
                            funnel += 1
            if background == 0:
                row += bytes(4)
                continue
            share = funnel / background
            colour = [round(b + (w - b) * share) for b, w in zip(BLUE, WHITE, strict=True)]
            row += bytes([*colour, round(255 * background / SAMPLES**2)])
        rows.append(bytes(row))
    return rows


def png(rows, size):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    ICONS.mkdir(exist_ok=True)
    # name: size, rounded corner, funnel scale. A maskable icon fills its square and keeps the
    # funnel inside the middle 80 %, where every platform's mask leaves it whole; Apple rounds
    # the corners itself.
    icons = {
        "icon-192.png": (192, 6, 1.0),
        "icon-512.png": (512, 6, 1.0),
        "maskable-512.png": (512, 0, 0.8),
        "apple-touch-icon.png": (180, 0, 0.9),
    }
    for name, (size, corner, scale) in icons.items():
        (ICONS / name).write_bytes(png(draw(size, corner, scale), size))
        print(name)


if __name__ == "__main__":
    main()

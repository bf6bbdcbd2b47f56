"""Transfer progress on stderr: a bar with bytes done, total and percent.

Shown when stderr is a terminal, or when asked for (``--progress``); a
redirected stderr gets nothing unless asked.
"""

import sys
import time

BAR_WIDTH = 30
# At most this many redraws a second (the last one is always drawn).
REDRAW_INTERVAL = 0.1


def wanted(requested, stream=None):
    """Is progress output to be shown? ``requested``: True, False or None."""
    if requested is not None:
        return requested
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def human(n):
    """Bytes as a short human figure: 512 B, 3.0 MiB, 1.25 GiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value = float(n)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            if unit == "B":
                return "%d B" % n
            return "%.1f %s" % (value, unit)
        value /= 1024
    return "%d B" % n  # pragma: no cover


class Progress:
    """Draws a line such as
    ``Uploading  [###    ]  42%  1.2 MiB / 2.9 MiB (1258291/2988441 bytes)``.

    ``total`` may be None (unknown size): then only the bytes are shown.
    Use as a context manager, or call :meth:`finish`.
    """

    def __init__(self, total, label="", stream=None, enabled=True,
                 clock=time.monotonic):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self._clock = clock
        self._last_draw = None
        self._finished = False

    def __enter__(self):
        self.draw(force=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.finish(ok=exc_type is None)
        return False

    def update(self, n):
        self.done += n
        self.draw()

    def line(self):
        parts = [self.label] if self.label else []
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * BAR_WIDTH)
            parts.append("[%s%s]" % ("#" * filled, " " * (BAR_WIDTH - filled)))
            parts.append("%3d%%" % int(frac * 100))
            parts.append(
                "%s / %s (%d/%d bytes)"
                % (human(self.done), human(self.total), self.done, self.total)
            )
        else:
            parts.append("%s (%d bytes)" % (human(self.done), self.done))
        return "  ".join(parts)

    def draw(self, force=False):
        if not self.enabled:
            return
        now = self._clock()
        if (not force and self._last_draw is not None
                and now - self._last_draw < REDRAW_INTERVAL):
            return
        self._last_draw = now
        self.stream.write("\r" + self.line())
        self.stream.flush()

    def finish(self, ok=True):
        if self._finished or not self.enabled:
            return
        self._finished = True
        self.draw(force=True)
        self.stream.write("\n" if ok else " (interrupted)\n")
        self.stream.flush()


def reading(fileobj, chunk_size, progress):
    """Yields the chunks of ``fileobj``, counting them on ``progress``."""
    while True:
        chunk = fileobj.read(chunk_size)
        if not chunk:
            return
        progress.update(len(chunk))
        yield chunk

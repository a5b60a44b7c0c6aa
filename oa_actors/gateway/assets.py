"""The web app's built files (oa_actors/web/dist, made by `make web` from web/), held in memory.

The build (web/build.mjs) writes content-hashed bundles (`app-<hash>.js`, `app-<hash>.css`, and
`chunk-<hash>.js` for the pages loaded on first use), the PWA manifest and icons, and
`manifest.json` naming the entry bundles and the chunks the entry imports (`preload`). Everything
is read once at start; text files worth it are gzipped once, and served gzipped to browsers that
accept it.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DIST = Path(__file__).resolve().parent.parent / "web" / "dist"

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = {".js", ".css", ".html", ".json", ".webmanifest", ".svg", ".txt"}
GZIP_MIN = 1024


@dataclass(frozen=True)
class Asset:
    """One file: its bytes, its content type, and its gzipped bytes when that is worth it."""

    body: bytes
    content_type: str
    gzipped: bytes | None = None

    @classmethod
    def of(cls, name: str, body: bytes) -> Asset:
        suffix = Path(name).suffix
        ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
        packed = None
        if suffix in _COMPRESSIBLE and len(body) >= GZIP_MIN:
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            if len(packed) > len(body) * 0.9:
                packed = None
        return cls(body, ctype, packed)


class Bundle:
    """The built app: `files` by name, and the entry bundles' names (None when not built)."""

    def __init__(self, dist: Path = DIST) -> None:
        self.dist = dist
        self.files: dict[str, Asset] = {}
        self.js: str | None = None
        self.css: str | None = None
        self.preload: tuple[str, ...] = ()  # chunks the entry imports (preloaded by the page)
        self.error: str | None = None
        self._load()

    @property
    def built(self) -> bool:
        return self.js is not None

    def _load(self) -> None:
        manifest = self.dist / "manifest.json"
        try:
            entry = json.loads(manifest.read_text(encoding="utf-8"))["entry"]
            for path in sorted(self.dist.iterdir()):
                if path.is_file() and path.name != "manifest.json":
                    self.files[path.name] = Asset.of(path.name, path.read_bytes())
            js, css = entry["js"], entry["css"]
            preload = tuple(str(name) for name in entry.get("preload", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.error = f"the web app is not built ({manifest}: {exc}); run `make web`"
            log.warning("%s", self.error)
            self.files.clear()
            return
        missing = [name for name in (js, css, *preload) if name not in self.files]
        if missing:
            self.error = f"the web app build is incomplete: {missing} missing in {self.dist}; run `make web`"
            log.warning("%s", self.error)
            return
        self.js, self.css, self.preload = js, css, preload

    def get(self, name: str) -> Asset | None:
        return self.files.get(name)

"""The web app's built files live in `dist/` (made by `make web` from web/; served by
oa_actors/gateway/web.py). This package holds no code."""

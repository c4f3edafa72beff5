"""`python -m server.schema` prints the SDL; redirect it to server/schema.graphql."""

from __future__ import annotations

import sys

from server.schema import sdl

sys.stdout.write(sdl())

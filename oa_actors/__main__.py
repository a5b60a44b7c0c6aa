"""`python -m oa_actors` is the same as the `oa-supervisor` command."""

from oa_actors.cli import main

raise SystemExit(main())

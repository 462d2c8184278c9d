"""Entry point for `python -m champy`."""

from champy.cli import main

raise SystemExit(main())

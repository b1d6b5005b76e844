"""``python -m monitor`` is the ``newsmon`` command."""

from monitor.cli import main

raise SystemExit(main())

"""``python -m genstudy``: the same as the ``genstudy`` command."""

from genstudy.cli import main

raise SystemExit(main())

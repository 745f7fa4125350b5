"""``python -m aexy``: the same as the ``aexy`` command."""

from aexy.cli import main

if __name__ == "__main__":
    main()

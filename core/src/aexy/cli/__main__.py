"""``python -m aexy.cli``: the same as the ``aexy`` console script."""

from aexy.cli import main

if __name__ == "__main__":
    main()

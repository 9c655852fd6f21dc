"""``python cli.py ...`` runs the ``biovw`` command line."""

from biovw.cli import main

if __name__ == "__main__":
    main()

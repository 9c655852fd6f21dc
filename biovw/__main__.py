"""``python -m biovw`` runs the command-line interface."""

from biovw.cli import main

if __name__ == "__main__":
    main()

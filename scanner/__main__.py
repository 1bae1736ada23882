"""Allow ``python -m scanner``."""

from scanner.cli.app import main

if __name__ == "__main__":
    main()

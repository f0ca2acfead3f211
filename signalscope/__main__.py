"""Allow ``python -m signalscope``."""

from signalscope.cli.main import main

if __name__ == "__main__":
    main()

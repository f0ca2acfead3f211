"""A program that writes nothing: signalscope trace then owns stdout (tests/test_stdout.py)."""

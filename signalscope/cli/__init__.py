"""The `signalscope` command line: a thin layer over signalscope.api."""

"""The optional C accelerator of the tracer's hot path (signalscope/tracing/_accel.c).

Everything else is in pyproject.toml. `optional=True`: where no C compiler is
found the build goes on without it, and signalscope uses its pure-Python code.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "signalscope.tracing._accel",
            ["signalscope/tracing/_accel.c"],
            optional=True,
        )
    ]
)

"""The optional native inference core (nosql_advisor._shapecore), built when `pip install` runs.

Everything else is in pyproject.toml. The extension is `optional`: without a C compiler (or
Python's headers) the install still succeeds and the pure-Python engine runs (shape/engine.py);
`nosql-advisor shape --json` says which engine ran.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "nosql_advisor._shapecore",
            sources=["nosql_advisor/native/module.c", "nosql_advisor/native/values.c",
                     "nosql_advisor/native/walker.c"],
            depends=["nosql_advisor/native/values.h"],
            extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wno-unused-function"],
            optional=True,
        )
    ]
)

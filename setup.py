"""The one compiled part of cxgov: auditverify._chainloop, the audit verifier's common-row loop
in C over OpenSSL (decision 291). Optional: where it cannot be built (no C compiler, no Python
or OpenSSL 3 headers), the install goes on and auditverify runs its pure-Python loop, which
gives the same findings, about half as fast."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "auditverify._chainloop",
    sources=["auditverify/_chainloop.c"],
    libraries=["crypto"],
    extra_compile_args=["-Wextra", "-Wno-unused-parameter"],
    optional=True,
)])

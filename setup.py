"""Packaging for cynode. Pins live here so build.py, CI and users install the same versions."""

import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', Path(__file__).with_name("cynode").joinpath(
    "__init__.py").read_text(encoding="utf-8")).group(1)

RUNTIME = [
    "bottle==0.13.4",
    "waitress==3.0.2",
    "peewee==4.5.3",
    "pg8000==1.31.6",
    "docopt-ng==0.9.0",
    "urllib3==2.8.0",
    "PyYAML==6.0.3",
    "tlslite-ng==0.8.2",  # pure-Python AES-GCM for credential secrets at rest (cynode/secretbox.py)
    "ecdsa==0.19.2",  # tlslite-ng's dependency, pure Python
    "six==1.17.0",  # ecdsa's dependency, pure Python
]

BUILD = [
    "shiv==1.0.8",  # all that building cynode.pyz needs besides the runtime: the quick start's first command
]

DEV = BUILD + [
    "pytest==9.2.0",
    "pytest-bdd==9.0.1",
    "pytest-xdist==3.8.0",  # the BDD suites mostly wait on real servers and jobs: 4 workers halve CI's wall time
    "coverage==7.17.3",
    "pylint==4.1.4",
    "rust-just==1.59.0",
    "schemathesis==4.32.5",
    "openai==3.51.0",  # the official clients: they prove the fake inference server and the gateway speak the real
    "ollama==0.6.3",  # wire formats (tests only; the zipapp carries neither)
    "cryptography==50.0.2",  # an independent AES-GCM: proves our sealed secrets are standard (tests only)
]

setup(
    name="cynode",
    version=VERSION,
    description="Self-hosted task orchestrator (cynode serve) and its command-line client (cynode cli)",
    packages=find_packages(include=["cynode", "cynode.*"]),
    package_data={"cynode.server": ["skill_policy.json", "skill_default.md"]},  # data read with importlib.resources
    python_requires=">=3.11",
    install_requires=RUNTIME,
    extras_require={"build": BUILD, "dev": DEV},
    entry_points={
        "console_scripts": [
            "cynode = cynode.__main__:entry",
            "cynork = cynode.cli.main:entry",
        ]
    },
)

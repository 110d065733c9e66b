"""Offline stand-in for the pinned get-pip script that ansible-test downloads.

ansible-test bootstraps pip into each test venv by running
``~/.ansible/test/cache/get_pip_<version>.py [pip options] pip==<version> --no-setuptools --no-wheel``;
the host it downloads that script from is not reachable here, PyPI is.
tools/test.sh copies this file there when it is missing. It does the same job
with the standard library's ensurepip, then pip itself.
"""

import subprocess
import sys

# get-pip's own flags; pip install does not know them (and installs neither anyway).
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])

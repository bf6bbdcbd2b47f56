# All metadata is in setup.cfg; this file lets older pip versions install
# the package in editable mode.
import setuptools

setuptools.setup()

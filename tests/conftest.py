"""Shared fixtures. Everything here is hermetic: the tiny seeded bundle in
tests/fixtures/bundle (made by ``python -m export.make_fixture_bundle``), no network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import fashionrec_sdk as fr

FIXTURE_BUNDLE = Path(__file__).parent / "fixtures" / "bundle"


@pytest.fixture(scope="session")
def fixture_bundle_path() -> Path:
    return FIXTURE_BUNDLE


@pytest.fixture(scope="session")
def bundle() -> fr.ModelBundle:
    return fr.ModelBundle.load(FIXTURE_BUNDLE, providers="cpu", threads=1)


@pytest.fixture()
def bundle_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the fixture bundle (for tampering tests)."""
    dst = tmp_path / "bundle"
    shutil.copytree(FIXTURE_BUNDLE, dst)
    return dst

"""``report.html`` of a smoke export in real headless Chromium: every image loads, nothing logs an error."""

import shutil

import pytest

from tests import chromium
from tests.analysis_study import smoke_export

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    s = smoke_export(shared_base, "vae_beta_sweep", mnist_root)
    assert s.study_code == 0 and s.export_code == 0, s.log
    return s


@pytest.fixture(scope="module")
def browser():
    if not chromium.available():
        pytest.skip(f"{chromium.CHROMIUM} is missing; install it with scripts/install_chromium.sh (make test installs it: scripts/install_chromium.sh)")


def test_report_opens_with_every_image_loaded_and_no_errors(smoke, browser):
    page = chromium.open_page(smoke.out / "report.html")
    assert page.title == "vae_beta_sweep report"
    n_png = len(list((smoke.out / "figures").glob("*.png")))
    assert len(page.images) == n_png >= 14
    broken = [i for i in page.images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken and not page.errors, (broken, page.errors)


def test_the_check_sees_a_missing_image(smoke, browser, tmp_path):
    """The browser check can fail: remove one figure from a copy of the export."""
    copy = tmp_path / "export"
    shutil.copytree(smoke.out, copy)
    (copy / "figures" / "study_importance.png").unlink()
    page = chromium.open_page(copy / "report.html")
    broken = [i["src"] for i in page.images if not i["width"]]
    assert broken == ["figures/study_importance.png"] and any("ERR_FILE_NOT_FOUND" in e for e in page.errors)

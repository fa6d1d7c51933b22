"""Upload one file to Settings → Import in a process of its own, and say what it took.

`python -m tests.import_probe FILE` prints one line of JSON: the status of the upload's answer,
the message it refused the file with (or null), the seconds the upload took and the process's
peak memory (its high-water resident set) in MB. A process of its own, because the peak is the
process's: the tests' own would count everything before. Its address space is capped, so that
a file the import would swell on fails it quickly rather than the machine.
"""

import json
import os
import re
import resource
import sys
import tempfile
import time
from html import unescape
from pathlib import Path

# Far more than the import may take; it only stops a runaway before the machine swaps.
ADDRESS_SPACE = 3 * 1024**3


def peak_mb():
    """The resident set's high-water mark, in MB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def refusal(page):
    """The message under the file field of the upload page, if any."""
    found = re.search(r'<p class="error" id="file-error">(.*?)</p>', page, re.S)
    return unescape(found.group(1).strip()) if found else None


def upload(path):
    from crm import create_app, funnel_defaults
    from crm.extensions import db
    from tests import factories

    with tempfile.TemporaryDirectory(prefix="crm-probe-") as folder:
        os.environ["CRM_INSTANCE_PATH"] = folder
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "probe",
                "DATABASE_URL": f"sqlite:///{folder}/probe.sqlite3",
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            funnel_defaults.install("en")
            admin = factories.admin(email="probe@example.com")
            client = app.test_client()
            client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
            started = time.perf_counter()
            with open(path, "rb") as file:
                response = client.post(
                    "/settings/import/",
                    data={"kind": "leads", "file": (file, Path(path).name)},
                    content_type="multipart/form-data",
                )
            seconds = time.perf_counter() - started
            return {
                "status": response.status_code,
                "refused": refusal(response.text) if response.status_code != 303 else None,
                "seconds": round(seconds, 2),
                "peak_mb": round(peak_mb(), 1),
            }


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    print(json.dumps(upload(sys.argv[1]), ensure_ascii=False))

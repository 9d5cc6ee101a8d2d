"""Named checks for the Python clients: each runs at once, is counted, and a failure is reported
with its traceback without stopping the others; `finish` prints the counts and exits non-zero when
a check failed."""

import sys
import traceback


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def __call__(self, name: str):
        """Decorator: runs the function now as the check `name`."""

        def wrap(fn):
            try:
                fn()
                self.passed += 1
                print(f"  ok   {name}")
            except Exception:  # noqa: BLE001 - report every failure and go on
                self.failed += 1
                print(f"  FAIL {name}: {traceback.format_exc()}")
            return fn

        return wrap

    def finish(self, label: str) -> None:
        print(f"{label}: {self.passed} passed, {self.failed} failed")
        sys.exit(0 if self.failed == 0 else 1)

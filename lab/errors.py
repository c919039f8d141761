"""Exceptions the lab raises; callers catch LabError for anything lab-specific."""

from __future__ import annotations

import subprocess


class LabError(RuntimeError):
    """The lab cannot do what was asked (not up, unknown host or port, missing br-int, ...)."""


class CommandError(LabError):
    """A command the lab ran failed; the message carries its stderr so the cause is visible."""

    def __init__(self, argv: list[str], returncode: int | None, stderr: str = "") -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        status = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(f"{' '.join(argv)} {status}: {stderr.strip()}")

    @classmethod
    def from_completed(cls, proc: subprocess.CompletedProcess) -> CommandError:
        return cls(list(proc.args), proc.returncode, proc.stderr or "")

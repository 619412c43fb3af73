"""The sandbox's one error, and the check that moto (the optional `sandbox` extra) is installed.

Imports: batchctl.errors only; moto is imported inside require_moto, never at module level.
"""

from __future__ import annotations

from batchctl.errors import BatchctlError


class SandboxError(BatchctlError):
    """The sandbox could not start."""


def require_moto() -> None:
    """Raise SandboxError with an install hint when moto is missing."""
    try:
        import moto  # noqa: F401
    except ImportError as exc:
        raise SandboxError(
            "the sandbox needs moto, which is not installed",
            hint="pip install 'batchctl[sandbox]'",
        ) from exc

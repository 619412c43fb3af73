"""The strict sandbox: AWS's rules that moto lacks, added in front of (and, for job attempts, inside) moto.

`StrictOptions` lives here and imports nothing; the rules (one module per service or concern) are imported only when
a strict server starts. What each rule enforces, and the AWS page it comes from, is in each module's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StrictOptions"]


@dataclass(frozen=True, slots=True)
class StrictOptions:
    """How a strict sandbox behaves.

    time_scale: every AWS duration (compute environment CREATING, queue DELETING, IAM propagation, the 60 s before a
        deleted SQS queue name can be reused...) is multiplied by it; tests use e.g. 0.01.
    spot_interruption_rate: the share (0..1) of Batch job attempts on SPOT / FARGATE_SPOT compute that AWS interrupts.
    seed: seeds the interruption draws, so a run is reproducible.
    """

    time_scale: float = 1.0
    spot_interruption_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        if not 0.0 <= self.spot_interruption_rate <= 1.0:
            raise ValueError("spot_interruption_rate must be between 0 and 1")

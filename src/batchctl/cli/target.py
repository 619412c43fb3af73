"""What `plan`, `deploy` and `destroy` act on, shown before any change: project, stage, account, region and
profile. Imports: cli.context (rich and the provisioners lazily)."""

from __future__ import annotations

from batchctl.cli.context import CliState


def show_target(state: CliState) -> dict[str, str]:
    """Print one stderr line naming the project, stage, account, region and profile, and return them (the `target`
    of the command's JSON). Asks STS once; the clients the plan needs are built meanwhile."""
    from rich.markup import escape

    from batchctl.provisioners import SERVICES

    cfg, aws = state.config(), state.aws()
    aws.preload(("sts", *SERVICES))
    ctx = aws.context()
    profile = str(aws.session.profile_name or "default")
    state.ui.info(
        escape(
            f"project {cfg.project}, stage {cfg.stage}: account {ctx.account_id}, region {ctx.region}, "
            f"profile {profile}"
        )
    )
    return {
        "project": cfg.project,
        "stage": cfg.stage,
        "account": ctx.account_id,
        "region": ctx.region,
        "profile": profile,
    }

"""`batchctl image build | push`: build the job image at its content-derived tag, and push it to the stage's ECR
repository (skipped when ECR already holds that tag)."""

from __future__ import annotations

import typer
from rich.markup import escape

from batchctl.cli.context import CliState

image_app = typer.Typer(help="Build and push the job image.", no_args_is_help=True)


@image_app.command("build")
def build(ctx: typer.Context) -> None:
    """Build the job image with a content-derived tag (skipped when already built); print the tag."""
    from batchctl.errors import ImageError
    from batchctl.image import ImageBuilder, image_tag, local_image

    state: CliState = ctx.obj
    ui = state.ui
    cfg = state.config()
    if cfg.image.uri:
        raise ImageError(
            f"image.uri is set ({cfg.image.uri}): jobs run that image, there is nothing to build",
            hint="remove image.uri from jobs.yaml to build from image.context",
        )
    tag = image_tag(cfg, state.project_dir)
    builder = ImageBuilder()
    with ui.status(f"building {local_image(cfg, tag)}"):
        image_id = builder.build(cfg, state.project_dir, tag, lambda line: ui.info(escape(line)))
    ui.emit({"tag": tag, "image": local_image(cfg, tag), "image_id": image_id}, tag)


@image_app.command("push")
def push(ctx: typer.Context) -> None:
    """Build if needed and push the job image to the stage's ECR repository; print the image and its digest."""
    from batchctl.image import publish_image

    state: CliState = ctx.obj
    ui = state.ui
    names = state.names()
    with ui.status(f"publishing the image to {names.repository_uri}"):
        published = publish_image(
            state.aws(), state.config(), state.project_dir, names, lambda line: ui.info(escape(line))
        )
    payload = {
        "image": published.reference,
        "repository_uri": published.repository_uri,
        "tag": published.tag,
        "digest": published.digest,
        "built": published.built,
        "pushed": published.pushed,
    }
    ui.emit(payload, f"{published.reference}\n{published.digest}")

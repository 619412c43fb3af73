"""`batchctl image build | push`: build the job image at its content-derived tag, and push it to the stage's ECR
repository (skipped when ECR already holds that tag)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from batchctl.cli.context import CliState, reporting, state_of

image_app = typer.Typer(help="Build and push the job image.", no_args_is_help=True)


def _project_dir(state: CliState) -> Path:
    """Paths in jobs.yaml (image.context) are relative to its folder."""
    return state.config_path.parent


@image_app.command("build")
def build(ctx: typer.Context) -> None:
    """Build the job image with a content-derived tag (skipped when already built); print the tag."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl.errors import ImageError
        from batchctl.image import ImageBuilder, image_tag, local_image

        cfg = state.config()
        if cfg.image.uri:
            raise ImageError(
                f"image.uri is set ({cfg.image.uri}): jobs run that image, there is nothing to build",
                hint="remove image.uri from jobs.yaml to build from image.context",
            )
        project_dir = _project_dir(state)
        tag = image_tag(cfg, project_dir)
        builder = ImageBuilder()
        with ui.status(f"building {local_image(cfg, tag)}"):
            image_id = builder.build(cfg, project_dir, tag, lambda line: ui.info(escape(line)))
        if ui.is_json:
            ui.json({"tag": tag, "image": local_image(cfg, tag), "image_id": image_id})
        else:
            ui.result(escape(tag))


@image_app.command("push")
def push(ctx: typer.Context) -> None:
    """Build if needed and push the job image to the stage's ECR repository; print the image and its digest."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl.image import publish_image
        from batchctl.naming import Names

        cfg = state.config()
        aws = state.aws()
        names = Names(cfg.project, cfg.stage, aws.context())
        with ui.status(f"publishing the image to {names.repository_uri}"):
            published = publish_image(
                aws, cfg, _project_dir(state), names, lambda line: ui.info(escape(line))
            )
        if ui.is_json:
            ui.json(
                {
                    "image": published.reference,
                    "repository_uri": published.repository_uri,
                    "tag": published.tag,
                    "digest": published.digest,
                    "built": published.built,
                    "pushed": published.pushed,
                }
            )
        else:
            ui.result(escape(published.reference))
            ui.result(published.digest)

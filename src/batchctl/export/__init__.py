"""`batchctl export`: the resources `deploy` creates, as a CloudFormation template (pure: no AWS call, no Docker,
no terminal; an import contract says so).

Imports: build, graph, config, naming, specs, yaml, stdlib.
"""

from __future__ import annotations

from batchctl.export.template import FORMATS, KEY_METADATA, Export, Note, build_template, render

__all__ = ["FORMATS", "KEY_METADATA", "Export", "Note", "build_template", "render"]

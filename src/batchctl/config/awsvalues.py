"""What AWS accepts in values jobs.yaml passes through: tag text, KMS key ARNs, instance families (GPU, Graviton).

Imports: pydantic_core (the check_* validators that models.py attaches), stdlib. Each rule names its AWS page.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic_core import PydanticCustomError

# "Tag naming limits and requirements" (Batch user guide, "Tag restrictions"; ECS API Tag): keys 1..128 and values
# 0..256 Unicode characters of `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, at most 50 tags per resource, `aws:` reserved.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
# batchctl's own tags: batchctl:project and batchctl:stage on everything, Name on the network resources.
OUR_TAGS = 3
MAX_USER_TAGS = MAX_TAGS - OUR_TAGS
TAG_SYMBOLS = "_.:/=+-@"
TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"

# KMS key ARNs (KMS developer guide, "Key identifiers"): a key ID is a UUID, or mrk-<32 hex> for a multi-Region key.
# IAM authorizes kms:Decrypt on the key's ARN; an alias ARN in a policy's Resource grants nothing for Decrypt.
KMS_KEY_ARN = (
    r"^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:key/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)

# Batch's instance-type keywords (API ComputeResource.instanceTypes): `optimal` (c/m/r families, x86_64),
# `default_x86_64` (m6i, c6i, r6i, c7i) and `default_arm64` (m6g, c6g, r6g, c7g). None of them has a GPU.
X86_KEYWORDS = frozenset({"optimal", "default_x86_64"})
ARM_KEYWORDS = frozenset({"default_arm64"})
# GPU families Batch runs GPU jobs on: it picks the ECS GPU-optimized AMI for p3, p4, p5, p6, g3, g3s, g4, g5 and g6
# families (Batch user guide, "Use a GPU workload AMI"). That AMI is NVIDIA on x86_64 only: g4ad (AMD) and g5g
# (Graviton) are left out.
_GPU_FAMILY = re.compile(r"(p3|p3dn|p4d|p4de|p5|p5e|p5en|p6(-[a-z0-9]+)?|g3|g3s|g4dn|g5|g6|g6e|g6f|gr6)")
GPU_FAMILY_EXAMPLES = "g4dn, g5, g6, p3, p4d"
# Graviton (arm64) families: a1, and those with a `g` right after the generation (m6g, c7gn, r8gd, t4g, x2gd,
# im4gn, is4gen, g5g, hpc7g...).
_GRAVITON_FAMILY = re.compile(r"a1|[a-z]+\d+g[a-z]*")
GRAVITON_FAMILY_EXAMPLES = "m7g, c7g, r7g, m6g"


def bad_tag_characters(text: str) -> list[str]:
    """The characters of `text` AWS refuses in a tag key or value, each once, in order of appearance."""
    bad: list[str] = []
    for char in text:
        allowed = unicodedata.category(char)[0] in "LZN" or char in TAG_SYMBOLS
        if not allowed and char not in bad:
            bad.append(char)
    return bad


def tag_text_problem(text: str, *, what: str) -> str | None:
    """What AWS refuses in a tag key or value (`what`), or None."""
    bad = bad_tag_characters(text)
    if not bad:
        return None
    shown = " ".join(repr(c) if c.isprintable() and not c.isspace() else ascii(c) for c in bad)
    return f"AWS refuses {shown} in a tag {what}; tags take {TAG_CHARACTERS}"


def instance_family(instance_type: str) -> str:
    """The family of an instance type or family (`g5.xlarge` → `g5`; `m6g` → `m6g`)."""
    return instance_type.split(".", 1)[0].lower()


def is_gpu_type(instance_type: str) -> bool:
    """True for an instance type or family Batch can place GPU jobs on."""
    return _GPU_FAMILY.fullmatch(instance_family(instance_type)) is not None


def is_arm_type(instance_type: str) -> bool:
    """True for `default_arm64` and Graviton (arm64) instance types or families."""
    family = instance_family(instance_type)
    return family in ARM_KEYWORDS or _GRAVITON_FAMILY.fullmatch(family) is not None


# image.platform → Batch's RuntimePlatform.cpuArchitecture (API RuntimePlatform: X86_64 or ARM64).
CPU_ARCHITECTURE = {"linux/amd64": "X86_64", "linux/arm64": "ARM64"}


# ---- validators of models.py's fields ------------------------------------------------------------------------


def _refuse(problem: str | None, value: str) -> str:
    if problem:
        raise PydanticCustomError("batchctl_tag_text", "{problem}", {"problem": problem})
    return value


def check_tag_key_text(key: str) -> str:
    """A tag key of AWS's characters (its length and reserved prefixes are models.py's)."""
    return _refuse(tag_text_problem(key, what="key"), key)


def check_tag_value(value: str) -> str:
    """A tag value of AWS's characters."""
    return _refuse(tag_text_problem(value, what="value"), value)


def check_tag_count(tags: dict[str, str]) -> dict[str, str]:
    """At most MAX_USER_TAGS: AWS's 50 per resource include ours."""
    if len(tags) > MAX_USER_TAGS:
        raise PydanticCustomError(
            "batchctl_tag_count",
            "{count} tags: AWS allows {total} per resource and batchctl adds batchctl:project, batchctl:stage "
            "and Name, so keep at most {allowed}",
            {"count": len(tags), "total": MAX_TAGS, "allowed": MAX_USER_TAGS},
        )
    return tags


def check_kms_key_arn(value: str) -> str:
    """A KMS key ARN; an alias ARN is refused with a hint (IAM authorizes kms:Decrypt on the key)."""
    if not re.fullmatch(KMS_KEY_ARN, value):
        hint = "; an alias grants nothing: name the key it points to" if ":alias/" in value else ""
        raise PydanticCustomError(
            "batchctl_kms_key_arn",
            "expected a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID){hint}",
            {"hint": hint},
        )
    return value

"""The document formats ``modelci sbom --format`` offers, and one call to write any."""

from __future__ import annotations

import enum

from modelci.sbom.inputs import SbomInputs


class SbomFormat(enum.Enum):
    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX3_JSON = "spdx3-json"

    @property
    def suffix(self) -> str:
        """The file name ending tools look for."""
        return {
            SbomFormat.CYCLONEDX_JSON: ".cdx.json",
            SbomFormat.CYCLONEDX_XML: ".cdx.xml",
            SbomFormat.SPDX3_JSON: ".spdx3.json",
        }[self]

    @property
    def media_type(self) -> str:
        return {
            SbomFormat.CYCLONEDX_JSON: "application/vnd.cyclonedx+json",
            SbomFormat.CYCLONEDX_XML: "application/vnd.cyclonedx+xml",
            SbomFormat.SPDX3_JSON: "application/spdx+json",
        }[self]


def render(inputs: SbomInputs, fmt: SbomFormat) -> bytes:
    """The document's bytes (UTF-8): the same inputs give the same bytes."""
    if fmt is SbomFormat.CYCLONEDX_JSON:
        from modelci.sbom.cyclonedx import cyclonedx_json

        return cyclonedx_json(inputs)
    if fmt is SbomFormat.CYCLONEDX_XML:
        from modelci.sbom.cyclonedx import cyclonedx_xml

        return cyclonedx_xml(inputs)
    from modelci.sbom.spdx import spdx3_json

    return spdx3_json(inputs)

"""What a bioimage.io package of a SegGUI model says about itself, and how the project file
keeps it (no torch here: the window's dialog uses it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PackageInfo:
    """What the package says about itself, asked once and kept in the project file."""

    name: str
    description: str = "A U-Net for semantic segmentation, trained in SegGUI"
    authors: tuple[str, ...] = ("SegGUI user",)
    license: str = "CC-BY-4.0"
    citation: str = (
        "Ronneberger, Fischer and Brox: U-Net: Convolutional Networks for Biomedical Image "
        "Segmentation. MICCAI 2015"
    )
    citation_link: str = "10.1007/978-3-319-24574-4_28"
    """A DOI (10.xxxx/...) or an address; the default is the U-Net paper's DOI."""
    training_data: str = ""
    tags: tuple[str, ...] = field(default=("segmentation", "semantic-segmentation", "unet", "seggui"))


def package_info(settings: dict[str, object], default_name: str) -> PackageInfo:
    """A ``PackageInfo`` from the project's saved answers (``Project.package``)."""
    base = PackageInfo(name=default_name)
    authors = settings.get("authors")
    return PackageInfo(
        name=str(settings.get("name") or base.name),
        description=str(settings.get("description") or base.description),
        authors=tuple(str(a) for a in authors) if isinstance(authors, list) and authors else base.authors,
        license=str(settings.get("license") or base.license),
        citation=str(settings.get("citation") or base.citation),
        citation_link=str(settings.get("citation_link") or base.citation_link),
        training_data=str(settings.get("training_data") or ""),
    )


def package_settings(info: PackageInfo) -> dict[str, object]:
    """What the project file keeps of ``info`` (``package_info`` reads it back)."""
    return {
        "name": info.name,
        "description": info.description,
        "authors": list(info.authors),
        "license": info.license,
        "citation": info.citation,
        "citation_link": info.citation_link,
        "training_data": info.training_data,
    }

"""Each image implements the S3 layout contract in its own code; this proves they agree with the doc."""

import importlib
import re
from datetime import date
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "s3-layout.md"
IMAGES = ("preprocess", "train", "infer")


def worked_examples() -> list[tuple[str, list, str, list[str]]]:
    """Rows of the doc's "Worked examples" table: (function, arguments, key, images)."""
    section = DOC.read_text().split("## Worked examples", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("function", "") or set(cells[0]) <= {"-", " "}:
            continue
        function, arguments, key, images = cells
        rows.append((function, [parse_argument(a.strip()) for a in arguments.split(",")], key,
                     [i.strip() for i in images.split(",")]))  # fmt: skip
    return rows


def parse_argument(text: str):
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    if re.fullmatch(r"\d+", text):
        return int(text)
    return text


EXAMPLES = worked_examples()


def test_the_doc_has_worked_examples_for_every_image():
    assert len(EXAMPLES) >= 10
    assert {image for *_, images in EXAMPLES for image in images} == set(IMAGES)


@pytest.mark.parametrize(
    ("image", "function", "arguments", "key"),
    [(image, f, args, key) for f, args, key, images in EXAMPLES for image in images],
    ids=lambda value: str(value) if isinstance(value, str) else None,
)
def test_image_layout_matches_the_doc(image, function, arguments, key):
    layout = importlib.import_module(f"{image}.layout")
    assert getattr(layout, function)(*arguments) == key


@pytest.mark.parametrize("image", IMAGES)
def test_run_ids_have_the_contract_format(image):
    layout = importlib.import_module(f"{image}.layout")
    first, second = layout.new_run_id(), layout.new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", first)
    assert first != second

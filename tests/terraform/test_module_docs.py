"""Each module's README lists exactly the variables and outputs that its .tf files declare."""

import json
import re
from dataclasses import dataclass

import pytest

from tests.terraform.helpers import MODULES, TERRAFORM_DIR


@dataclass(frozen=True)
class Declared:
    """A variable or output as written in the module's .tf file."""

    name: str
    description: str | None
    has_type: bool
    has_default: bool


def top_level_blocks(text: str, kind: str) -> dict[str, str]:
    """Body of each top-level `kind "name" { ... }` block by name, skipping braces in strings and comments."""
    bodies = {}
    for match in re.finditer(rf'^{kind} "(\w+)" {{', text, re.MULTILINE):
        depth, index, in_string = 1, match.end(), False
        while depth:
            char = text[index]
            if in_string:
                if char == "\\":
                    index += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                index = text.index("\n", index) - 1
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            index += 1
        bodies[match.group(1)] = text[match.end() : index - 1]
    return bodies


def declared(module: str, kind: str) -> dict[str, Declared]:
    file_name = "variables.tf" if kind == "variable" else "outputs.tf"
    text = (TERRAFORM_DIR / "modules" / module / file_name).read_text()
    found = {}
    for name, body in top_level_blocks(text, kind).items():
        # Attributes of the block itself sit at two spaces (terraform fmt); nested blocks sit deeper.
        description = re.search(r'^  description\s*=\s*(".*")\s*$', body, re.MULTILINE)
        found[name] = Declared(
            name=name,
            description=json.loads(description.group(1)) if description else None,
            has_type=re.search(r"^  type\s*=", body, re.MULTILINE) is not None,
            has_default=re.search(r"^  default\s*=", body, re.MULTILINE) is not None,
        )
    return found


def readme_table(module: str, heading: str) -> list[list[str]]:
    """Cells of each body row of the table under `## {heading}` in the module's README."""
    text = (TERRAFORM_DIR / "modules" / module / "README.md").read_text()
    section = re.search(rf"^## {heading}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, f"README of {module} has no '## {heading}' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def unquote(cell: str) -> str:
    return cell.strip("`")


@pytest.mark.parametrize("module", MODULES)
def test_every_variable_is_typed_and_described(module: str):
    variables = declared(module, "variable").values()
    assert variables
    assert [v.name for v in variables if not v.has_type or not v.description] == []


@pytest.mark.parametrize("module", MODULES)
def test_every_output_is_described(module: str):
    outputs = declared(module, "output").values()
    assert outputs
    assert [o.name for o in outputs if not o.description] == []


@pytest.mark.parametrize("module", MODULES)
def test_readme_inputs_match_variables(module: str):
    variables = declared(module, "variable")
    rows = readme_table(module, "Inputs")
    assert sorted(unquote(row[0]) for row in rows) == sorted(variables)
    for name, description, _type, _default, required in rows:
        variable = variables[unquote(name)]
        assert description == variable.description, name
        assert required == ("no" if variable.has_default else "yes"), name


@pytest.mark.parametrize("module", MODULES)
def test_readme_outputs_match_outputs(module: str):
    outputs = declared(module, "output")
    rows = readme_table(module, "Outputs")
    assert sorted(unquote(row[0]) for row in rows) == sorted(outputs)
    for name, description in rows:
        assert description == outputs[unquote(name)].description, name

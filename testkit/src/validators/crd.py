"""Validates custom resources against the openAPIV3Schema of their pinned CRDs.

Usage: python crd.py CRD_DIR FILE...

Every YAML document in FILE... must be an object of a kind that a CRD in CRD_DIR defines,
at a version that CRD serves. The structural schema is read as JSON Schema with the
API server's own rules: `nullable` admits null, `x-kubernetes-int-or-string` admits an
integer or a string, and a field that no `properties` entry names is refused unless the
schema preserves unknown fields (as `kubectl apply --validate=strict` refuses it). CEL
rules (`x-kubernetes-validations`) are not evaluated. Prints one line per problem and
exits 1 when there is any; prints nothing on a pass.
"""

import pathlib
import sys

import jsonschema
import yaml


def structural(node):
    """The API server's reading of a structural schema node, as plain JSON Schema."""
    if isinstance(node, list):
        return [structural(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: structural(v) for k, v in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_schemas(crd_dir):
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                schemas[key] = structural(version["schema"]["openAPIV3Schema"])
    return schemas


def main(crd_dir, files):
    schemas = load_schemas(crd_dir)
    problems = []
    for file in files:
        for index, doc in enumerate(yaml.safe_load_all(pathlib.Path(file).read_text())):
            if doc is None:
                continue
            where = f"{file}#{index}"
            key = (doc.get("apiVersion"), doc.get("kind"))
            schema = schemas.get(key)
            if schema is None:
                problems.append(f"{where}: no pinned CRD serves {key[0]} {key[1]}")
                continue
            validator = jsonschema.Draft7Validator(schema)
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                path = ".".join(str(p) for p in error.path) or "(root)"
                problems.append(f"{where} {key[1]} {path}: {error.message}")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))

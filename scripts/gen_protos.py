"""Generate Python code and Envoy's descriptor set from proto/ (the one source of truth).

Outputs (none committed, all reproducible):
- libs/protos/src/tucano/<context>/v1/*_pb2.py, *_pb2.pyi, *_pb2_grpc.py
- build/descriptors.binpb: every Tucano service plus its imports and google/rpc/{status,
  error_details}.proto, which Envoy's transcoder needs to render error details as JSON.
- build/third_party/google/api/*.proto: copied from googleapis-common-protos so that buf lint
  resolves imports without the (unreachable) buf registry.

`--check` regenerates into a temporary folder and fails if the checked-out output differs.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import google.api
import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
# Third-party API subsets we implement: not linted, not in Envoy's descriptor set.
VENDOR = ROOT / "proto-vendor"
OUT = ROOT / "libs" / "protos" / "src"
BUILD = ROOT / "build"
THIRD_PARTY = BUILD / "third_party"
DESCRIPTORS = BUILD / "descriptors.binpb"
GOOGLEAPIS = Path(google.api.__path__[0]).parent  # site-packages/google
WELL_KNOWN = Path(grpc_tools.__path__[0]) / "_proto"
COPIED = ["api/annotations.proto", "api/http.proto", "api/httpbody.proto",
          "rpc/status.proto", "rpc/error_details.proto", "rpc/code.proto"]


def copy_third_party() -> None:
    for rel in COPIED:
        dest = THIRD_PARTY / "google" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(GOOGLEAPIS / rel, dest)


def protos() -> list[str]:
    return sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))


def vendor_protos() -> list[str]:
    return sorted(str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*.proto"))


def run_protoc(args: list[str]) -> None:
    base = ["grpc_tools.protoc", f"-I{PROTO}", f"-I{VENDOR}", f"-I{THIRD_PARTY}",
            f"-I{WELL_KNOWN}"]
    if protoc.main([*base, *args]) != 0:
        sys.exit(f"protoc failed: {' '.join(args)}")


def generate_python(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run_protoc([f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
                *protos(), *vendor_protos()])
    for folder in (out / "tucano").rglob("*"):
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("")


def generate_descriptors(dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_protoc(["--include_imports", "--include_source_info", f"--descriptor_set_out={dest}",
                *protos(), "google/rpc/status.proto", "google/rpc/error_details.proto"])


def generated_files(root: Path) -> set[str]:
    """Every generated file: all Python files below the per-context folders (tucano/*/)."""
    return {str(p.relative_to(root)) for p in (root / "tucano").glob("*/**/*")
            if p.is_file() and p.suffix in (".py", ".pyi")}


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate_python(fresh)
        want, have = generated_files(fresh), generated_files(OUT)
        stale = sorted(want ^ have)
        stale += sorted(f for f in want & have
                        if not filecmp.cmp(fresh / f, OUT / f, shallow=False))
    if stale:
        print("generated code is stale; run scripts/gen_protos.py:", *stale, sep="\n  ")
        return 1
    print("generated code is fresh")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args()
    copy_third_party()
    if args.check:
        return check()
    for old in (OUT / "tucano").iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    generate_python(OUT)
    generate_descriptors(DESCRIPTORS)
    print(f"generated {len(protos())} protos into {OUT.relative_to(ROOT)} and "
          f"{DESCRIPTORS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

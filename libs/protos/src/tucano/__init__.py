"""Generated protobuf and gRPC modules, one sub-package per proto package (tucano.auth.v1, ...).

Everything below this file is written by scripts/gen_protos.py from proto/ and is not committed.
"""

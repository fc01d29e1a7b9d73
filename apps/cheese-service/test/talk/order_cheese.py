"""The talk's cheese client: orders every cheese type, then an unknown one.

Usage: order_cheese.py TARGET [STUBS_DIR]
STUBS_DIR (or $CHEESE_STUBS_DIR) holds cheese_pb2*.py generated from cheese.proto.
Prints one JSON line with the results, for the interop e2e test to check.
"""
import json
import os
import sys

target = sys.argv[1] if len(sys.argv) > 1 else "localhost:4000"
stubs_dir = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CHEESE_STUBS_DIR")
if stubs_dir:
    sys.path.insert(0, stubs_dir)

import grpc  # noqa: E402
import cheese_pb2  # noqa: E402
import cheese_pb2_grpc  # noqa: E402

UNKNOWN_TYPE = 42

with grpc.insecure_channel(target) as channel:
    stub = cheese_pb2_grpc.CheeseServiceStub(channel)

    orders = []
    for requested in cheese_pb2.CheeseType.values():
        # EMMENTAL (0) goes on the wire as an empty message: proto3 omits zeros.
        cheese = stub.Order(cheese_pb2.CheeseRequest(type=requested), timeout=10)
        orders.append(
            {
                "requested": requested,
                "type": cheese.type,
                "type_name": cheese_pb2.CheeseType.Name(cheese.type),
                "age": cheese.age,
            }
        )

    invalid = None
    try:
        stub.Order(cheese_pb2.CheeseRequest(type=UNKNOWN_TYPE), timeout=10)
    except grpc.RpcError as e:
        invalid = {"code": e.code().name, "details": e.details()}

print(json.dumps({"orders": orders, "invalid": invalid}))

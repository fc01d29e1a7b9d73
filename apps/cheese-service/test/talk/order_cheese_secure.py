"""The talk's Demo 2 client, "The Cheese SECURE Service": orders a cheese over TLS.

As in the talk, it trusts the certificate in cert.pem in the working directory
(here: the development CA from `npm run certs`, copied as cert.pem) and dials
localhost:4000 with grpc.ssl_channel_credentials; it presents no certificate
of its own.

Usage: order_cheese_secure.py [TARGET] [STUBS_DIR]
STUBS_DIR (or $CHEESE_STUBS_DIR) holds cheese_pb2*.py generated from cheese.proto.
Prints one JSON line, the cheese or the error, for the e2e test to check.
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

with open("cert.pem", "rb") as f:
    trusted_cert = f.read()

credentials = grpc.ssl_channel_credentials(root_certificates=trusted_cert)
channel = grpc.secure_channel(target, credentials)
stub = cheese_pb2_grpc.CheeseServiceStub(channel)

try:
    cheese = stub.Order(cheese_pb2.CheeseRequest(type=cheese_pb2.BRIE), timeout=10)
    result = {
        "cheese": {
            "type": cheese.type,
            "type_name": cheese_pb2.CheeseType.Name(cheese.type),
            "age": cheese.age,
        }
    }
except grpc.RpcError as e:
    result = {"error": {"code": e.code().name, "details": e.details()}}
finally:
    channel.close()

print(json.dumps(result))

"""A grpcio client that reads the services' rich errors and sends gzip-compressed messages.

Usage: rich_errors.py CHEESE_TARGET SOCCER_TARGET STUBS_DIR
STUBS_DIR holds cheese_pb2*, stream_pb2* (libs/proto/proto, by grpc_tools) and
google/rpc/{status,error_details}_pb2.py (by Debian's protoc). The channels
compress every message with gzip. Prints one JSON line for the e2e test.
"""
import json
import sys

cheese_target, soccer_target, stubs_dir = sys.argv[1:4]
sys.path.insert(0, stubs_dir)

import grpc  # noqa: E402
import cheese_pb2  # noqa: E402
import cheese_pb2_grpc  # noqa: E402
import stream_pb2  # noqa: E402
import stream_pb2_grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

DETAIL_TYPES = {
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.BadRequest": error_details_pb2.BadRequest,
    "google.rpc.ResourceInfo": error_details_pb2.ResourceInfo,
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
}


def rich_error(err):
    """What grpc_status.rpc_status.from_call does: the Status in the trailers, details unpacked."""
    trailers = dict(err.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    details = []
    for any_detail in status.details:
        name = any_detail.TypeName()
        message = DETAIL_TYPES[name]()
        any_detail.Unpack(message)
        details.append({"type": name, "fields": json_of(message)})
    return {
        "code": err.code().name,
        "details_text": err.details(),
        "status_code": status.code,
        "status_message": status.message,
        "details": details,
    }


def json_of(message):
    from google.protobuf import json_format

    return json.loads(json_format.MessageToJson(message))


gzip = grpc.Compression.Gzip
report = {}
with grpc.insecure_channel(cheese_target, compression=gzip) as channel:
    stub = cheese_pb2_grpc.CheeseServiceStub(channel)
    cheese = stub.Order(cheese_pb2.CheeseRequest(type=cheese_pb2.BRIE), timeout=20)
    report["order"] = {"type": cheese_pb2.CheeseType.Name(cheese.type), "age": cheese.age}
    try:
        stub.Order(cheese_pb2.CheeseRequest(type=42), timeout=20)
    except grpc.RpcError as err:
        report["unknown_type"] = rich_error(err)

with grpc.insecure_channel(soccer_target, compression=gzip) as channel:
    stub = stream_pb2_grpc.SoccerStub(channel)
    frames = [v.data_shape for v in stub.Watch(stream_pb2.Match(id="demo", max_frames=3), timeout=20)]
    report["frames"] = frames
    try:
        for _ in stub.Watch(stream_pb2.Match(id="no-such-match"), timeout=20):
            pass
    except grpc.RpcError as err:
        report["no_match"] = rich_error(err)
    try:
        for _ in stub.Watch(stream_pb2.Match(id="../etc/passwd"), timeout=20):
            pass
    except grpc.RpcError as err:
        report["bad_id"] = rich_error(err)

print(json.dumps(report))

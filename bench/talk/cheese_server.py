"""The talk's Cheese Service server (Demo 1), as a reader of the talk would run it:
grpcio's thread-pool server with 10 workers, a servicer whose Order echoes the
type ordered with an age, and a print per order.

The talk simulates load with a random sleep of 0-3 s per order; here the
sleep is PREP_MS (default 0), the counterpart of cheese-service's
CHEESE_PREP_MS, so both do the same (no) waiting. The age is random in
1-100 (one protobuf varint byte, so every answer has the same size).

Usage: cheese_server.py PORT STUBS_DIR  (stubs from the talk's cheese.proto)
"""
import os
import sys
import time
from concurrent import futures
from random import randint

port, stubs_dir = sys.argv[1], sys.argv[2]
sys.path.insert(0, stubs_dir)

import grpc  # noqa: E402
import cheese_pb2  # noqa: E402
import cheese_pb2_grpc  # noqa: E402

PREP_S = int(os.environ.get("PREP_MS", "0")) / 1000


class CheeseService(cheese_pb2_grpc.CheeseServiceServicer):
    def Order(self, request, context):
        if PREP_S:
            time.sleep(PREP_S)
        print("[gRPC] Order={0}".format(cheese_pb2.CheeseType.Name(request.type)))
        return cheese_pb2.Cheese(type=request.type, age=randint(1, 100))


server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
cheese_pb2_grpc.add_CheeseServiceServicer_to_server(CheeseService(), server)
server.add_insecure_port("127.0.0.1:{0}".format(port))
server.start()
server.wait_for_termination()

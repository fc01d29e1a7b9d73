"""The talk's Soccer Match server (Demo 3), as a reader of the talk would run it:
grpcio's thread-pool server with 10 workers; Watch opens "{id}.mp4" with
OpenCV and yields every frame it reads as a Video (raw BGR bytes, dtype
name, shape as a Python tuple literal), as fast as the client takes them.

Usage: soccer_server.py PORT STUBS_DIR MEDIA_DIR  (stubs from the talk's stream.proto)
"""
import os
import sys
from concurrent import futures

port, stubs_dir, media_dir = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, stubs_dir)

import cv2  # noqa: E402
import grpc  # noqa: E402
import stream_pb2  # noqa: E402
import stream_pb2_grpc  # noqa: E402


class SoccerService(stream_pb2_grpc.SoccerServicer):
    def Watch(self, request, context):
        print("[gRPC] Match={0}".format(request.id))
        match = cv2.VideoCapture(os.path.join(media_dir, "{0}.mp4".format(request.id)))
        while match.isOpened():
            ok, frame = match.read()
            if not ok:
                break
            yield stream_pb2.Video(
                data=frame.tobytes(),
                data_type=frame.dtype.name,
                data_shape=str(frame.shape),
            )
        match.release()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
stream_pb2_grpc.add_SoccerServicer_to_server(SoccerService(), server)
server.add_insecure_port("127.0.0.1:{0}".format(port))
server.start()
server.wait_for_termination()

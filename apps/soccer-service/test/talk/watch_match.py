"""The talk's soccer client, headless: watches a match and decodes every frame
the way the talk does, with numpy, instead of showing it with OpenCV.

Usage: watch_match.py TARGET MATCH_ID MAX_FRAMES STUBS_DIR
Prints one JSON line for the interop e2e test.
"""
import json
import sys
from ast import literal_eval

target, match_id, max_frames, stubs_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, stubs_dir)

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import stream_pb2  # noqa: E402
import stream_pb2_grpc  # noqa: E402

with grpc.insecure_channel(target) as channel:
    stub = stream_pb2_grpc.SoccerStub(channel)
    iterator = stub.Watch(stream_pb2.Match(id=match_id), timeout=60)
    frames, shapes, dtypes, first_pixel = 0, set(), set(), None
    for video in iterator:
        frame = np.frombuffer(video.data, dtype=video.data_type).reshape(literal_eval(video.data_shape))
        frames += 1
        shapes.add(frame.shape)
        dtypes.add(str(frame.dtype))
        if first_pixel is None:
            first_pixel = [int(v) for v in frame[100, 5]]
        if frames == max_frames:
            iterator.cancel()  # the talk's client stops on Esc
            break

print(json.dumps({
    "frames": frames,
    "shapes": sorted(list(s) for s in shapes),
    "dtypes": sorted(dtypes),
    "first_pixel": first_pixel,
}))
